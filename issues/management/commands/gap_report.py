"""Print a talk's gap summaries as a table per layer."""

import shutil

from django.core.management.base import BaseCommand, CommandError
from rich.console import Console
from rich.table import Table

from issues import gaps, selectors, wording
from issues.models import Layer
from talks.models import Talk


class Command(BaseCommand):
    help = (
        "Print each issue's gap summary (status, zone or gap, what blocks a zone and the "
        "concession that would open one, bridging point, trend, narrative), one table per "
        "layer, with the talk-level roll-up."
    )

    def add_arguments(self, parser) -> None:
        parser.add_argument("slug", nargs="?", help="the talk (default: every talk)")
        parser.add_argument("--layer", choices=Layer.values, help="one layer only")
        parser.add_argument("--width", type=int, help="columns of text (default: the terminal's)")

    def handle(self, *args, slug=None, layer=None, width=None, **options) -> None:
        talks = Talk.objects.order_by("title")
        if slug is not None:
            talks = talks.filter(slug=slug)
            if not talks.exists():
                raise CommandError(f"No talk with the slug '{slug}'.")
        console = Console(
            file=self.stdout._out,
            width=width or shutil.get_terminal_size((160, 40)).columns,
            color_system=None,
            highlight=False,
            emoji=False,
        )
        for talk in talks:
            for name in [layer] if layer else Layer.values:
                self._layer(console, talk, name)

    def _layer(self, console: Console, talk: Talk, layer: str) -> None:
        table = Table(
            title=f"{talk.title} ({talk.slug}): {Layer(layer).label.lower()} positions",
            title_justify="left",
            show_lines=True,
            expand=True,
        )
        for column, ratio, least in (
            ("Issue", 2, 14),
            ("Status", 1, 8),
            ("Zone or gap", 3, 16),
            ("Blocking, and the concession that opens a zone", 5, 20),
            ("Bridging point", 4, 16),
            ("Trend", 2, 12),
        ):
            table.add_column(column, ratio=ratio, min_width=least, overflow="fold")
        rollup_input, narratives = [], []
        summaries = selectors.gap_summaries_for_talk(talk_id=talk.pk, layer=layer)
        for summary in summaries.prefetch_related("issue__options"):
            issue = summary.issue
            scale = selectors.issue_scale(issue=issue)
            status = summary.status
            if summary.computed_at is None:
                status = "not computed yet"
            elif summary.pending or summary.is_stale:
                status = f"{status} (recomputing)"
            if not summary.figures:
                table.add_row(issue.title, status, "", "", "", "")
                continue
            result = gaps.IssueGap.from_dict(summary.figures)
            rollup_input.append(
                (
                    gaps.IssueInput(issue.key, issue.title, issue.priority, scale, (), ()),
                    result,
                )
            )
            table.add_row(
                issue.title,
                status,
                wording.zone_or_gap(result, scale),
                wording.blocking(result, scale),
                wording.bridging(result, scale),
                wording.trend(summary.trend),
            )
            narratives.append(f"{issue.title}: {summary.narrative}")
        console.print(table)
        for narrative in narratives:
            console.print(narrative, markup=False)
        console.print(self._rollup(gaps.rollup(rollup_input), summaries.count()))
        console.print()

    @staticmethod
    def _rollup(rollup: gaps.TalkRollup, issues: int) -> str:
        zone = f"A zone of agreement on {rollup.zone_count} of {issues} issues"
        if rollup.with_zone:
            zone += f" ({', '.join(rollup.with_zone)})"
        lines = [zone + "."]
        if rollup.blocking:
            ranked = ", ".join(
                f"{b.key} {b.gap:.2f} x {b.priority} = {b.weight:.2f}" for b in rollup.blocking
            )
            lines.append(f"Blocking issues, by gap x priority: {ranked}.")
        if rollup.insufficient:
            lines.append(f"Not enough positions: {', '.join(rollup.insufficient)}.")
        feasible = rollup.deal_feasible and rollup.zone_count == issues
        lines.append(
            "A whole deal is feasible: every issue has a zone."
            if feasible
            else "A whole deal is not feasible yet."
        )
        return "\n".join(lines)
