"""Proposals as the pages and the API say them: term labels, evaluation grids, comparisons.

Everything here turns engine results (issues.evaluation) and saved rows into plain values
and sentences; nothing reads the database.
"""

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from issues import evaluation, gaps
from issues.models import Issue, ScaleKind
from issues.selectors import issue_scale
from talks.presenters import amount_text

from .models import Proposal, ProposalTerm

Catalogue = Mapping[str, tuple[Issue, gaps.Scale]]


def catalogue_of(issues: Iterable[Issue]) -> dict[str, tuple[Issue, gaps.Scale]]:
    """The talk's issues by key with their scales (options prefetched by the caller)."""
    return {issue.key: (issue, issue_scale(issue=issue)) for issue in issues}


def term_label(term: ProposalTerm) -> str:
    """A saved term's value as people say it: '42 days', 'permanent', an option's label."""
    if term.value_option_id:
        return term.value_option.label
    return gaps.describe_value(issue_scale(issue=term.issue, options=()), float(term.value_number))


def value_text(catalogue: Catalogue, issue_key: str, value: Any) -> str:
    """A value on an issue's scale as people say it (an unknown issue goes by its key)."""
    if value is None:
        return "—"
    known = catalogue.get(issue_key)
    if known is None:
        return str(value)
    issue, scale = known
    if issue.scale_kind == ScaleKind.NUMERIC:
        return gaps.describe_value(scale, float(value))
    return gaps.describe_value(scale, str(value))


def _issue(catalogue: Catalogue, key: str) -> Issue | None:
    known = catalogue.get(key)
    return known[0] if known else None


def miss_text(catalogue: Catalogue, issue_key: str, amount: float) -> str:
    """A distance on the issue's scale in its unit ('20 prisoners per hostage', '2 steps');
    on an unordered scale there is no distance, only outside."""
    issue = _issue(catalogue, issue_key)
    if issue is None:
        return f"{amount:g}"
    if issue.scale_kind == ScaleKind.CATEGORICAL:
        return "outside its acceptable options"
    return amount_text(issue, amount)


# --- The evaluation grid --------------------------------------------------------------------


@dataclass(frozen=True)
class Cell:
    """One term as one principal sees it (`has_position` False: it has none on the issue)."""

    party: str
    has_position: bool = False
    accepted: bool = False
    beyond: float = 0.0
    beyond_text: str = ""  # "20 days beyond its red line"
    concession: float = 0.0
    concession_text: str = ""  # "15 days from its demand"


@dataclass(frozen=True)
class GridRow:
    issue_key: str
    issue_title: str
    phase: int
    value_text: str
    cells: tuple[Cell, ...]  # one per principal

    @property
    def rejected_by(self) -> list[str]:
        return [c.party for c in self.cells if c.has_position and not c.accepted]


@dataclass(frozen=True)
class PhaseGroup:
    number: int
    title: str
    trigger: str
    rows: tuple[GridRow, ...]


@dataclass(frozen=True)
class ConditionLine:
    party: str
    issue_title: str
    phase: int
    text: str  # "only if Troop withdrawal is complete"
    against: str  # what the package puts there
    met: bool
    miss: float
    miss_text: str


@dataclass(frozen=True)
class BlockerLine:
    kind: str
    party: str
    issue_key: str
    phase: int
    text: str
    miss: float


@dataclass(frozen=True)
class Grid:
    principals: tuple[str, ...]
    phases: tuple[PhaseGroup, ...]
    satisfaction: tuple[tuple[str, float | None], ...]
    conditions: tuple[ConditionLine, ...]
    blockers: tuple[BlockerLine, ...]
    acceptable: bool
    terms: int

    @property
    def broken_conditions(self) -> int:
        return sum(1 for c in self.conditions if not c.met)


def _within_text(catalogue: Catalogue, condition: evaluation.Condition) -> str:
    from talks.presenters import link_text

    within = condition.within
    if isinstance(within, frozenset):
        link: dict[str, Any] = {"issue": condition.on_issue_key, "options": sorted(within)}
    else:
        low, high = sorted(float(v) for v in within)
        link = {"issue": condition.on_issue_key, "low": low, "high": high}
    return link_text(link, catalogue)


def evaluation_grid(
    *,
    result: evaluation.PackageEvaluation,
    principals: Sequence[str],
    phases: Sequence[tuple[int, str, str]],
    catalogue: Catalogue,
) -> Grid:
    """The evaluation as the proposal page shows it: terms grouped by phase, one column per
    principal, the conditions checked, the blocking list, each party's satisfaction."""
    by_term: dict[tuple[str, int], dict[str, evaluation.TermVerdict]] = {}
    values: dict[tuple[str, int], Any] = {}
    for verdict in result.verdicts:
        by_term.setdefault((verdict.issue_key, verdict.phase), {})[verdict.party] = verdict
        values[(verdict.issue_key, verdict.phase)] = verdict.value
    order = {key: i for i, key in enumerate(catalogue)}
    rows_by_phase: dict[int, list[GridRow]] = {}
    for (issue_key, phase), verdicts in sorted(
        by_term.items(), key=lambda item: (item[0][1], order.get(item[0][0], len(order)))
    ):
        cells = tuple(
            _cell(catalogue, issue_key, party, verdicts.get(party)) for party in principals
        )
        issue = _issue(catalogue, issue_key)
        rows_by_phase.setdefault(phase, []).append(
            GridRow(
                issue_key=issue_key,
                issue_title=issue.title if issue else issue_key,
                phase=phase,
                value_text=value_text(catalogue, issue_key, values[(issue_key, phase)]),
                cells=cells,
            )
        )
    groups = tuple(
        PhaseGroup(number=n, title=title, trigger=trigger, rows=tuple(rows_by_phase.get(n, ())))
        for n, title, trigger in phases
    )
    conditions = tuple(
        ConditionLine(
            party=c.condition.party,
            issue_title=_title(catalogue, c.condition.issue_key),
            phase=c.phase,
            text=_within_text(catalogue, c.condition),
            against=value_text(catalogue, c.condition.on_issue_key, c.value)
            if c.value is not None
            else f"nothing set on {_title(catalogue, c.condition.on_issue_key)}",
            met=c.met,
            miss=c.miss,
            miss_text="" if c.met else _condition_miss(catalogue, c),
        )
        for c in result.conditions
    )
    blockers = tuple(_blocker_line(catalogue, b, result.conditions) for b in result.blocking)
    return Grid(
        principals=tuple(principals),
        phases=groups,
        satisfaction=tuple((s.party, s.satisfaction) for s in result.satisfaction),
        conditions=conditions,
        blockers=blockers,
        acceptable=result.acceptable,
        terms=len(by_term),
    )


def _cell(
    catalogue: Catalogue, issue_key: str, party: str, verdict: evaluation.TermVerdict | None
) -> Cell:
    if verdict is None:
        return Cell(party=party)
    categorical = _is_categorical(catalogue, issue_key)
    if verdict.accepted:
        beyond = ""
    elif categorical:
        beyond = "not among its acceptable options"
    else:
        beyond = f"{miss_text(catalogue, issue_key, verdict.beyond_amount)} beyond its red line"
    if not verdict.concession:
        concession = ""
    elif categorical:
        concession = "an option other than its demand"
    else:
        concession = f"{miss_text(catalogue, issue_key, verdict.concession_amount)} from its demand"
    return Cell(
        party=party,
        has_position=True,
        accepted=verdict.accepted,
        beyond=verdict.beyond,
        beyond_text=beyond,
        concession=verdict.concession,
        concession_text=concession,
    )


def _title(catalogue: Catalogue, key: str) -> str:
    issue = _issue(catalogue, key)
    return issue.title if issue else key


def _condition_miss(catalogue: Catalogue, check: evaluation.ConditionCheck) -> str:
    on_key = check.condition.on_issue_key
    if check.value is None:
        return "nothing is set on it"
    if _is_categorical(catalogue, on_key):
        return "not one of them"
    return f"off by {miss_text(catalogue, on_key, check.miss_amount)}"


def _blocker_line(
    catalogue: Catalogue, blocker: evaluation.Blocker, checks: Sequence[evaluation.ConditionCheck]
) -> BlockerLine:
    title = _title(catalogue, blocker.issue_key)
    if blocker.kind == evaluation.BlockerKind.TERM:
        if _is_categorical(catalogue, blocker.issue_key):
            how = "not among its acceptable options"
        else:
            amount = miss_text(catalogue, blocker.issue_key, blocker.miss_amount)
            how = f"{amount} beyond its red line"
        text = f"{blocker.party} rejects {title} (phase {blocker.phase}): {how}"
    else:
        on_key = blocker.on_issue_key or ""
        on = _title(catalogue, on_key)
        check = next(
            (
                c
                for c in checks
                if not c.met
                and c.phase == blocker.phase
                and (c.condition.party, c.condition.issue_key, c.condition.on_issue_key)
                == (blocker.party, blocker.issue_key, on_key)
            ),
            None,
        )
        if check is not None and check.value is None:
            how = f"nothing is set on {on}"
        elif _is_categorical(catalogue, on_key):
            how = f"{on} is not one of the options it requires"
        else:
            how = f"{on} misses by {miss_text(catalogue, on_key, blocker.miss_amount)}"
        text = f"{blocker.party}'s condition on {title} fails (phase {blocker.phase}): {how}"
    return BlockerLine(
        kind=str(blocker.kind),
        party=blocker.party,
        issue_key=blocker.issue_key,
        phase=blocker.phase,
        text=text,
        miss=blocker.miss,
    )


def _is_categorical(catalogue: Catalogue, key: str | None) -> bool:
    issue = _issue(catalogue, key or "")
    return issue is not None and issue.scale_kind == ScaleKind.CATEGORICAL


def change_text(catalogue: Catalogue, change: evaluation.TermChange) -> str:
    """One changed term in words: 'Prisoner-exchange ratio (phase 1): 30 → 45 prisoners…'."""
    where = f"{_title(catalogue, change.issue_key)} (phase {change.phase})"
    before = value_text(catalogue, change.issue_key, change.before)
    after = value_text(catalogue, change.issue_key, change.after)
    if change.kind == evaluation.ChangeKind.ADDED:
        return f"{where}: set to {after}"
    if change.kind == evaluation.ChangeKind.REMOVED:
        return f"{where}: {before} removed"
    return f"{where}: {before} → {after}"


# --- A proposal's terms on one issue (the issue page) ----------------------------------------


@dataclass(frozen=True)
class IssueTerm:
    phase: int
    label: str
    accepted_by: tuple[str, ...]
    rejected: tuple[tuple[str, str], ...]  # (party, how far beyond its red line)


@dataclass(frozen=True)
class IssueProposal:
    proposal: Proposal
    terms: tuple[IssueTerm, ...]


def issue_proposals(
    *,
    issue: Issue,
    principals: Sequence[str],
    positions: Sequence[gaps.PartyPosition],
    terms: Iterable[ProposalTerm],
) -> list[IssueProposal]:
    """Each proposal's terms on the issue, each checked against the principals' positions
    shown (the term alone: conditions linking issues are the proposal page's to check)."""
    scale = issue_scale(issue=issue)
    catalogue = {issue.key: (issue, scale)}
    issue_input = gaps.IssueInput(
        key=issue.key,
        title=issue.title,
        priority=issue.priority,
        scale=scale,
        principals=tuple(principals),
        positions=tuple(positions),
    )
    grouped: dict[int, tuple[Proposal, list[ProposalTerm]]] = {}
    for term in terms:
        grouped.setdefault(term.proposal_id, (term.proposal, []))[1].append(term)
    listed = []
    for proposal, rows in grouped.values():
        package = [evaluation.Term(issue.key, t.phase, t.value) for t in rows]
        valid = [t for t in package if not evaluation.validate_term(scale, t.phase, t.value)]
        result = evaluation.evaluate_package([issue_input], valid)
        verdicts: dict[int, list[evaluation.TermVerdict]] = {}
        for verdict in result.verdicts:
            verdicts.setdefault(verdict.phase, []).append(verdict)
        listed.append(
            IssueProposal(
                proposal=proposal,
                terms=tuple(
                    IssueTerm(
                        phase=t.phase,
                        label=term_label(t),
                        accepted_by=tuple(v.party for v in verdicts.get(t.phase, []) if v.accepted),
                        rejected=tuple(
                            (v.party, _cell(catalogue, issue.key, v.party, v).beyond_text)
                            for v in verdicts.get(t.phase, [])
                            if not v.accepted
                        ),
                    )
                    for t in rows
                ),
            )
        )
    return listed
