"""Load the Gaza ceasefire talks demo. Running it again changes nothing."""

import datetime as dt

from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand
from django.db import transaction

from audit.context import audit_context
from issues.models import Issue
from issues.services import gap_summaries_ensure, issue_create
from positions.models import Interface, Position, Proposal, Source
from positions.services import PositionInput, ProposalInput, position_create, proposal_create
from talks import demo
from talks.models import Membership, Party, Round, Talk, TalkParty

NOTE = "Loaded from the demo brief."


class Command(BaseCommand):
    help = "Load the Gaza ceasefire talks demo data and demo users (idempotent)."

    def handle(self, *args, **options) -> None:
        with audit_context(interface=Interface.IMPORT), transaction.atomic():
            created = self._load()
        self.stdout.write(
            self.style.SUCCESS(f"Demo talk '{demo.TALK['slug']}' ready ({created} rows created).")
        )
        self.stdout.write("Demo logins (user / password / role):")
        for username, password, role, staff in demo.USERS:
            extra = ", staff: admin at /admin/" if staff else ""
            self.stdout.write(f"  {username:<9} {password:<24} {role}{extra}")

    def _load(self) -> int:
        created = 0
        t = demo.TALK
        talk, new = Talk.objects.get_or_create(
            slug=t["slug"],
            defaults={
                "title": t["title"],
                "description": t["description"],
                "status": t["status"],
                "started_on": dt.date.fromisoformat(t["started_on"]),
            },
        )
        created += new
        parties: dict[str, Party] = {}
        for name, short, role in demo.PARTIES:
            party, new = Party.objects.get_or_create(name=name, defaults={"short_name": short})
            created += new
            parties[name] = party
            _, new = TalkParty.objects.get_or_create(
                talk=talk, party=party, defaults={"role": role}
            )
            created += new
        for r in demo.ROUNDS:
            _, new = Round.objects.get_or_create(
                talk=talk,
                number=r["number"],
                defaults={
                    **r,
                    "starts_on": dt.date.fromisoformat(r["starts_on"]),
                    "ends_on": dt.date.fromisoformat(r["ends_on"]),
                },
            )
            created += new
        source, new = Source.objects.get_or_create(
            talk=talk, title=demo.SOURCE["title"], defaults=demo.SOURCE
        )
        created += new

        user_model = get_user_model()
        users = {}
        for username, password, role, staff in demo.USERS:
            user = user_model.objects.filter(username=username).first()
            if user is None:
                user = user_model.objects.create_user(
                    username=username,
                    password=password,
                    is_staff=staff,
                    is_superuser=staff,
                )
                created += 1
            users[username] = user
            _, new = Membership.objects.get_or_create(user=user, talk=talk, defaults={"role": role})
            created += new

        issues: dict[str, Issue] = {}
        for order, spec in enumerate(demo.ISSUES):
            issue = Issue.objects.filter(talk=talk, key=spec.key).first()
            if issue is None:
                issue = issue_create(
                    talk=talk,
                    key=spec.key,
                    title=spec.title,
                    description=spec.description,
                    priority=spec.priority,
                    order=order,
                    scale_kind=spec.scale_kind,
                    scale_min=spec.scale_min,
                    scale_max=spec.scale_max,
                    unit=spec.unit,
                    max_label=spec.max_label,
                    options=spec.options,
                )
                created += 1
            issues[spec.key] = issue
        gap_summaries_ensure(issues=issues.values())

        analyst = users["analyst"]
        for p in demo.POSITIONS:
            issue, party = issues[p.issue], parties[p.party]
            if Position.objects.filter(issue=issue, party=party, layer=p.layer).exists():
                continue
            position_create(
                issue=issue,
                party=party,
                layer=p.layer,
                data=PositionInput(
                    demand=p.demand,
                    red_line=p.red_line,
                    acceptable=p.acceptable,
                    priority=p.priority,
                    rationale=p.rationale,
                    conditions=p.conditions,
                    links=p.links,
                    confidence=p.confidence,
                    status=p.status,
                    source_ids=(source.pk,),
                ),
                by=analyst,
                via=Interface.IMPORT,
                note=NOTE,
            )
            created += 1

        mediator = users["mediator"]
        for spec in demo.PROPOSALS:
            if Proposal.objects.filter(talk=talk, title=spec.title).exists():
                continue
            proposal_create(
                talk=talk,
                data=ProposalInput(
                    title=spec.title,
                    mediator_id=parties[spec.mediator].pk,
                    summary=spec.summary,
                    status=spec.status,
                    phases=spec.phases,
                    terms=spec.terms,
                ),
                by=mediator,
                via=Interface.IMPORT,
                note=NOTE,
            )
            created += 1
        return created
