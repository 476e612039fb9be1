"""The pure gap engine's speed, and a whole talk recomputed through the service."""

from __future__ import annotations

import random
import time
from collections.abc import Callable

from issues import gaps

from ..stats import Figure

SCENARIO = "engine"
PARTIES = 8


def _input(rng: random.Random, kind: gaps.ScaleKind, n: int) -> gaps.IssueInput:
    keys = [f"o{i + 1}" for i in range(5)]
    positions = []
    for p in range(PARTIES):
        if kind == gaps.ScaleKind.NUMERIC:
            demand = round(rng.uniform(0, 100), 1)
            red_line: float | str | None = round(rng.uniform(0, 100), 1)
            acceptable: frozenset[str] = frozenset()
        elif kind == gaps.ScaleKind.ORDINAL:
            demand, red_line, acceptable = rng.choice(keys), rng.choice(keys), frozenset()
        else:
            demand, red_line = rng.choice(keys), None
            acceptable = frozenset({demand, *rng.sample(keys, rng.randrange(0, 3))})
        positions.append(
            gaps.PartyPosition(
                party=f"Party {p + 1}",
                demand=demand,
                red_line=red_line,
                acceptable=acceptable,
                priority=rng.randint(1, 5),
                version=n + 1,
            )
        )
    numeric = kind == gaps.ScaleKind.NUMERIC
    return gaps.IssueInput(
        key=f"issue-{n}",
        title=f"Issue {n}",
        priority=3,
        scale=gaps.Scale(
            kind=kind,
            minimum=0.0 if numeric else None,
            maximum=100.0 if numeric else None,
            unit="units" if numeric else "",
            options=() if numeric else tuple(gaps.Option(k, k.upper()) for k in keys),
        ),
        principals=tuple(f"Party {p + 1}" for p in range(PARTIES)),
        positions=tuple(positions),
    )


def engine_figures(*, quick: bool, progress: Callable[[str], None]) -> list[Figure]:
    """Summaries per second for 8-party issues of each scale kind (one core, in-process)."""
    rng = random.Random(8)
    batches, per_batch = (10, 20) if quick else (40, 50)
    figures = []
    for kind in gaps.ScaleKind:
        inputs = [_input(rng, kind, n) for n in range(per_batch)]
        for issue in inputs[:5]:  # warm-up
            gaps.compute_issue(issue)
        progress(f"engine: {kind} issues")
        rates = []
        for _ in range(batches):
            started = time.perf_counter()
            for issue in inputs:
                gaps.compute_issue(issue)
            rates.append(per_batch / (time.perf_counter() - started))
        figures.append(
            Figure.of(
                SCENARIO,
                f"{kind} issue, {PARTIES} parties",
                "summaries/s",
                rates,
                note=""
                if kind != gaps.ScaleKind.NUMERIC
                else (
                    f"pure engine, one process; each sample is a batch of {per_batch} "
                    "different issues"
                ),
            )
        )
    return figures


def talk_recompute_figures(
    *, talk_slug: str, quick: bool, progress: Callable[[str], None]
) -> list[Figure]:
    """Every summary of one talk (both layers) recomputed through the service, in turn."""
    from issues.models import Issue, Layer
    from issues.services import gap_summary_compute_now

    issue_ids = list(
        Issue.objects.filter(talk__slug=talk_slug).order_by("order").values_list("pk", flat=True)
    )
    if not issue_ids:
        return [
            Figure.single(
                SCENARIO,
                "whole talk recomputed",
                "ms",
                None,
                note=f"not run: no talk {talk_slug} (run python -m bench generate first)",
            )
        ]
    rounds = 3 if quick else 10
    samples = []
    for i in range(rounds):
        progress(f"engine: whole-talk recomputation {i + 1}/{rounds}")
        started = time.perf_counter()
        for issue_id in issue_ids:
            for layer in Layer.values:
                gap_summary_compute_now(issue_id=issue_id, layer=layer, force=True)
        samples.append((time.perf_counter() - started) * 1000)
    return [
        Figure.of(
            SCENARIO,
            f"whole talk recomputed ({len(issue_ids)} issues x 2 layers)",
            "ms",
            samples,
            note=(
                f"{talk_slug} through issues.services.gap_summary_compute_now(force=True), "
                "one summary after the other, in-process"
            ),
        )
    ]
