"""The Gaza ceasefire talks, as demo data.

Facts come from the news analysis in shared/domain (the parties, the five disputes and
what each side holds); the numbers that make the numeric scales measurable are
illustrative and say so in their rationale.
"""

from dataclasses import dataclass, field

from issues.services import OptionInput
from positions.services import LinkInput, PhaseInput, TermInput

TALK = {
    "slug": "gaza-ceasefire",
    "title": "Gaza ceasefire talks",
    "description": (
        "Indirect talks between Israel and Hamas on a ceasefire in Gaza, carried by Egyptian, "
        "Qatari and American mediators through shuttle diplomacy. Withdrawal of Israeli forces "
        "is the dispute that stalls everything else."
    ),
    "status": "stalled",
    "started_on": "2026-09-08",
}

PARTIES = [
    ("Israel", "ISR", "principal"),
    ("Hamas", "HAM", "principal"),
    ("Egypt", "EGY", "mediator"),
    ("Qatar", "QAT", "mediator"),
    ("United States", "USA", "mediator"),
]

ROUNDS = [
    {
        "number": 1,
        "title": "Framework round",
        "place": "Cairo",
        "starts_on": "2026-09-08",
        "ends_on": "2026-09-11",
        "notes": "Mediators carry a phased framework between the delegations; no joint session.",
    },
    {
        "number": 2,
        "title": "Withdrawal round",
        "place": "Doha",
        "starts_on": "2026-10-13",
        "ends_on": "2026-10-16",
        "notes": "Talks stall on the withdrawal map; aid inspection and prisoner lists unresolved.",
    },
]

SOURCE = {
    "title": "Gaza Crisis: Withdrawal Dispute Sinks Israel-Hamas Peace Talks",
    "publisher": "News analysis (demo brief)",
    "reliability": "medium",
    "notes": "Overview of both sides' demands and red lines, and of the mediators' role.",
}

USERS = [
    # username, password, role in the talk, staff
    ("analyst", "redline-analyst-demo", "analyst", False),
    ("mediator", "redline-mediator-demo", "mediator", False),
    ("viewer", "redline-viewer-demo", "viewer", False),
    ("admin", "redline-admin-demo", "analyst", True),
]


@dataclass(frozen=True)
class DemoIssue:
    key: str
    title: str
    description: str
    priority: int
    scale_kind: str
    scale_min: float | None = None
    scale_max: float | None = None
    unit: str = ""
    max_label: str = ""
    options: tuple[OptionInput, ...] = ()


ISSUES = [
    DemoIssue(
        key="withdrawal",
        title="Troop withdrawal",
        description=(
            "How far Israeli forces leave the Gaza Strip, and on what terms. The dispute that "
            "sank the talks."
        ),
        priority=5,
        scale_kind="ordinal",
        options=(
            OptionInput("none", "no withdrawal"),
            OptionInput("buffer", "a perimeter buffer zone"),
            OptionInput("phased", "a phased withdrawal tied to hostage releases"),
            OptionInput("full-security", "full withdrawal with security arrangements"),
            OptionInput("complete", "complete and unconditional withdrawal"),
        ),
    ),
    DemoIssue(
        key="prisoners",
        title="Prisoner-exchange ratio",
        description=(
            "Palestinian prisoners released for each Israeli hostage, and which prisoners."
        ),
        priority=4,
        scale_kind="numeric",
        scale_min=0,
        scale_max=150,
        unit="prisoners per hostage",
    ),
    DemoIssue(
        key="governance",
        title="Post-conflict governance",
        description="Who runs Gaza once the fighting stops.",
        priority=4,
        scale_kind="categorical",
        options=(
            OptionInput("hamas", "Hamas keeps its governing role"),
            OptionInput("pa", "the Palestinian Authority"),
            OptionInput("technocratic", "a technocratic committee"),
            OptionInput("arab-force", "an international or Arab force"),
            OptionInput("israeli-security", "Israeli security control"),
        ),
    ),
    DemoIssue(
        key="aid",
        title="Humanitarian-aid mechanism",
        description=(
            "Who inspects aid, who controls its distribution, and how much (including dual-use "
            "materials) gets in."
        ),
        priority=3,
        scale_kind="ordinal",
        options=(
            OptionInput("israeli-all", "Israeli inspection of every load"),
            OptionInput("israeli-dual-use", "Israeli inspection of a dual-use list"),
            OptionInput("joint", "joint monitoring under the UN"),
            OptionInput("international", "an international mechanism with no Israeli veto"),
            OptionInput("open", "open access and an end to the blockade"),
        ),
    ),
    DemoIssue(
        key="ceasefire",
        title="Ceasefire duration",
        description="A temporary truce tied to hostage releases, or a permanent ceasefire.",
        priority=5,
        scale_kind="numeric",
        scale_min=0,
        scale_max=365,
        unit="days",
        max_label="permanent",
    ),
]


@dataclass(frozen=True)
class DemoPosition:
    issue: str
    party: str
    layer: str
    demand: float | str
    red_line: float | str | None = None
    acceptable: frozenset[str] = field(default_factory=frozenset)
    priority: int = 3
    rationale: str = ""
    conditions: str = ""
    confidence: str = "medium"
    status: str = "stated"
    links: tuple[LinkInput, ...] = ()


ILLUSTRATIVE = " The brief gives no figure; the number is illustrative."

POSITIONS = [
    # --- Troop withdrawal -------------------------------------------------------------------
    DemoPosition(
        "withdrawal",
        "Israel",
        "declared",
        demand="buffer",
        red_line="phased",
        priority=5,
        rationale=(
            "Israel rejects a full, unconditional pull-out: it wants to keep the ability to act "
            "inside Gaza against re-armament, and any withdrawal must come in phases matched to "
            "hostage releases."
        ),
        conditions=(
            "Each phase of withdrawal only against a matching release of hostages, and only if "
            "no hostile force can take control again: Israeli security control or an outside "
            "force."
        ),
        links=(LinkInput("governance", frozenset({"israeli-security", "arab-force"})),),
        confidence="high",
    ),
    DemoPosition(
        "withdrawal",
        "Hamas",
        "declared",
        demand="complete",
        red_line="complete",
        priority=5,
        rationale=(
            "Hamas treats any Israeli presence as occupation and makes complete, unconditional "
            "withdrawal the precondition of a lasting ceasefire and of the return of the "
            "displaced to the north."
        ),
        conditions="A permanent ceasefire only with full withdrawal and the end of the blockade.",
        confidence="high",
    ),
    DemoPosition(
        "withdrawal",
        "Israel",
        "assessed",
        demand="buffer",
        red_line="full-security",
        priority=5,
        status="assessment",
        confidence="low",
        rationale=(
            "What Israel rejects is an unconditional withdrawal; with robust security guarantees "
            "against re-armament it might go as far as a full one."
        ),
        conditions="Only with an outside security presence in Gaza.",
        links=(LinkInput("governance", frozenset({"israeli-security", "arab-force"})),),
    ),
    DemoPosition(
        "withdrawal",
        "Hamas",
        "assessed",
        demand="complete",
        red_line="full-security",
        priority=5,
        status="assessment",
        confidence="low",
        rationale=(
            "Hamas's aim is the end of Israeli presence and of the blockade; a full withdrawal "
            "with third-party security arrangements might meet it."
        ),
    ),
    # --- Prisoner exchange ------------------------------------------------------------------
    DemoPosition(
        "prisoners",
        "Israel",
        "declared",
        demand=10,
        red_line=60,
        priority=3,
        rationale=(
            "Israel resists releasing prisoners convicted of serious offences and keeps the "
            "numbers down; its negotiators have signalled a ceiling of about 60 to the "
            "mediators." + ILLUSTRATIVE
        ),
        confidence="medium",
        status="reported",
    ),
    DemoPosition(
        "prisoners",
        "Hamas",
        "declared",
        demand=100,
        red_line=50,
        priority=4,
        rationale=(
            "Hamas asks for a large number of prisoners, high-profile ones among them, for each "
            "hostage." + ILLUSTRATIVE
        ),
        confidence="medium",
        status="reported",
    ),
    DemoPosition(
        "prisoners",
        "Israel",
        "assessed",
        demand=10,
        red_line=35,
        priority=3,
        status="assessment",
        confidence="low",
        rationale=(
            "The figure signalled in public runs ahead of the governing coalition, whose "
            "partners reject releasing prisoners convicted of serious offences; the ceiling "
            "the government could carry looks nearer 35." + ILLUSTRATIVE
        ),
    ),
    DemoPosition(
        "prisoners",
        "Hamas",
        "assessed",
        demand=100,
        red_line=40,
        priority=4,
        status="assessment",
        confidence="low",
        rationale=(
            "The identities of the prisoners may matter more than the count." + ILLUSTRATIVE
        ),
    ),
    # --- Governance -------------------------------------------------------------------------
    DemoPosition(
        "governance",
        "Israel",
        "declared",
        demand="israeli-security",
        acceptable=frozenset({"israeli-security", "arab-force"}),
        priority=4,
        rationale=(
            "Israel wants no hostile entity able to take control again, with an Israeli security "
            "role at least through a transition."
        ),
        confidence="medium",
    ),
    DemoPosition(
        "governance",
        "Hamas",
        "declared",
        demand="hamas",
        acceptable=frozenset({"hamas"}),
        priority=4,
        rationale="Hamas insists on keeping its role as Gaza's governing authority.",
        confidence="high",
    ),
    DemoPosition(
        "governance",
        "Israel",
        "assessed",
        demand="israeli-security",
        acceptable=frozenset({"israeli-security", "arab-force", "pa", "technocratic"}),
        priority=4,
        status="assessment",
        confidence="low",
        rationale=(
            "International partners push for a structure involving the Palestinian Authority; "
            "Israel may accept a non-Hamas civilian body under outside security."
        ),
    ),
    DemoPosition(
        "governance",
        "Hamas",
        "assessed",
        demand="hamas",
        acceptable=frozenset({"hamas", "technocratic"}),
        priority=4,
        status="assessment",
        confidence="low",
        rationale="A technocratic committee could let Hamas step back without being removed.",
    ),
    # --- Humanitarian aid -------------------------------------------------------------------
    DemoPosition(
        "aid",
        "Israel",
        "declared",
        demand="israeli-all",
        red_line="israeli-dual-use",
        priority=3,
        rationale=(
            "Israel insists on inspecting what enters, above all materials that could serve "
            "military ends."
        ),
        confidence="medium",
        status="reported",
    ),
    DemoPosition(
        "aid",
        "Hamas",
        "declared",
        demand="open",
        red_line="international",
        priority=4,
        rationale=(
            "Hamas ties aid to the end of the blockade and wants unrestricted access for aid and "
            "reconstruction materials."
        ),
        confidence="medium",
        status="reported",
    ),
    DemoPosition(
        "aid",
        "Israel",
        "assessed",
        demand="israeli-all",
        red_line="joint",
        priority=3,
        status="assessment",
        confidence="medium",
        rationale="Pressure over famine conditions makes UN-monitored inspection plausible.",
    ),
    DemoPosition(
        "aid",
        "Hamas",
        "assessed",
        demand="open",
        red_line="joint",
        priority=4,
        status="assessment",
        confidence="low",
        rationale="The humanitarian collapse gives Hamas reason to accept monitored access.",
    ),
    # --- Ceasefire duration -----------------------------------------------------------------
    DemoPosition(
        "ceasefire",
        "Israel",
        "declared",
        demand=42,
        red_line=60,
        priority=5,
        rationale=(
            "Israel seeks a temporary truce tied to hostage releases and keeps the right to "
            "resume operations." + ILLUSTRATIVE
        ),
        conditions="The truce lasts only while hostages are being released.",
        confidence="medium",
    ),
    DemoPosition(
        "ceasefire",
        "Hamas",
        "declared",
        demand=365,
        red_line=365,
        priority=5,
        rationale=(
            "Hamas insists on a permanent ceasefire within a broader deal that includes "
            "withdrawal and the lifting of the blockade."
        ),
        conditions="Permanent ceasefire only together with full withdrawal and end of blockade.",
        links=(
            LinkInput("withdrawal", frozenset({"complete"})),
            LinkInput("aid", frozenset({"open"})),
        ),
        confidence="high",
    ),
    DemoPosition(
        "ceasefire",
        "Israel",
        "assessed",
        demand=42,
        red_line=120,
        priority=5,
        status="assessment",
        confidence="low",
        rationale="A longer truce could be sold if every hostage comes home." + ILLUSTRATIVE,
    ),
    DemoPosition(
        "ceasefire",
        "Hamas",
        "assessed",
        demand=365,
        red_line=365,
        priority=5,
        status="assessment",
        confidence="medium",
        rationale="No sign Hamas would settle for a temporary truce.",
        conditions="A full withdrawal, even with security arrangements, and monitored access.",
        links=(
            LinkInput("withdrawal", frozenset({"full-security", "complete"})),
            LinkInput("aid", frozenset({"joint", "international", "open"})),
        ),
    ),
]


@dataclass(frozen=True)
class DemoProposal:
    title: str
    mediator: str
    summary: str
    status: str
    phases: tuple[PhaseInput, ...]
    terms: tuple[TermInput, ...]


PROPOSALS = [
    DemoProposal(
        title="Phased framework",
        mediator="Egypt",
        summary=(
            "A first phase of truce and partial withdrawal against hostage releases, then a "
            "permanent ceasefire and full withdrawal once every living hostage is home."
        ),
        status="shared",
        phases=(
            PhaseInput(1, "Truce", "Signature, and the first hostage releases."),
            PhaseInput(2, "Permanent ceasefire", "Every living hostage released."),
        ),
        terms=(
            TermInput("ceasefire", 1, 42),
            TermInput("withdrawal", 1, "phased"),
            TermInput("prisoners", 1, 30),
            TermInput("aid", 1, "joint"),
            TermInput("ceasefire", 2, 365),
            TermInput("withdrawal", 2, "full-security"),
            TermInput("governance", 2, "technocratic"),
        ),
    ),
]
