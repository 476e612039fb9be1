"""Recompute gap summaries by hand, synchronously, through the pipeline's own service."""

from django.core.management.base import BaseCommand, CommandError
from tqdm import tqdm

from issues import selectors
from issues.models import GapSummary, Issue
from issues.services import gap_summaries_ensure, gap_summary_compute_now
from talks.models import Talk


class Command(BaseCommand):
    help = (
        "Bring stale gap summaries up to date now (what the beat sweep hands to the workers). "
        "--all recomputes every summary, stale or not, e.g. after a change of the engine."
    )

    def add_arguments(self, parser) -> None:
        parser.add_argument("--talk", metavar="SLUG", help="only this talk's issues")
        parser.add_argument(
            "--all",
            action="store_true",
            dest="every",
            help="every summary, not only the stale ones",
        )

    def handle(self, *args, talk: str | None = None, every: bool = False, **options) -> None:
        talk_id = None
        if talk is not None:
            talk_id = Talk.objects.filter(slug=talk).values_list("pk", flat=True).first()
            if talk_id is None:
                raise CommandError(f"No talk with the slug '{talk}'.")
        if every:
            issues = (
                Issue.objects.all() if talk_id is None else Issue.objects.filter(talk_id=talk_id)
            )
            gap_summaries_ensure(issues=issues)  # issues made without one get theirs
            summaries = GapSummary.objects.all()
            if talk_id is not None:
                summaries = summaries.filter(issue__talk_id=talk_id)
            summaries = summaries.order_by("issue__talk_id", "issue__order", "issue_id", "layer")
        else:
            summaries = selectors.gap_summaries_stale(talk_id=talk_id)
        targets = list(summaries.values_list("issue_id", "layer"))

        changed, failed = 0, []
        bar = tqdm(targets, desc="gap summaries", unit="summary", file=self.stderr._out)
        for issue_id, layer in bar:
            try:
                result = gap_summary_compute_now(issue_id=issue_id, layer=layer, force=every)
            except ValueError as exc:
                # Positions that no longer fit their issue's scale: report, go on with the rest.
                failed.append(f"issue {issue_id} ({layer}): {exc}")
                continue
            changed += result.figures_changed
        bar.close()

        what = "summaries" if every else "stale summaries"
        self.stdout.write(
            f"Recomputed {len(targets) - len(failed)} {what}; {changed} with changed figures."
        )
        if failed:
            raise CommandError(
                f"{len(failed)} summaries could not be computed:\n" + "\n".join(failed)
            )
