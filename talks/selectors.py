"""Reads of talks, always scoped to what the user may see.

A talk the user is not a member of does not exist for them: every lookup answers 404,
never 403, so the existence of a confidential talk does not leak.
"""

from django.contrib.auth.models import AbstractBaseUser, AnonymousUser
from django.db.models import Count, Max, Prefetch, Q, QuerySet
from django.http import Http404

from issues.models import Issue, IssueOption

from .models import Membership, Round, Talk, TalkParty

User = AbstractBaseUser | AnonymousUser


def talk_list_for_user(*, user: User) -> QuerySet[Talk]:
    if not user.is_authenticated:
        return Talk.objects.none()
    return (
        Talk.objects.filter(memberships__user=user)
        .annotate(
            my_role=Max("memberships__role", filter=Q(memberships__user=user)),
            issue_count=Count("issues", distinct=True),
            zone_count=Count(
                "issues__gap_summaries",
                filter=Q(
                    issues__gap_summaries__layer="declared", issues__gap_summaries__status="zone"
                ),
                distinct=True,
            ),
            gap_count=Count(
                "issues__gap_summaries",
                filter=Q(
                    issues__gap_summaries__layer="declared", issues__gap_summaries__status="gap"
                ),
                distinct=True,
            ),
            last_change=Max("issues__positions__updated_at"),
        )
        .order_by("title")
    )


def membership_for(*, user: User, talk: Talk) -> Membership | None:
    if not user.is_authenticated:
        return None
    return Membership.objects.filter(user=user, talk=talk).first()


def talk_get_for_user(*, user: User, slug: str) -> tuple[Talk, Membership]:
    """The talk and the user's membership of it, or 404."""
    if not user.is_authenticated:
        raise Http404
    membership = (
        Membership.objects.select_related("talk").filter(user=user, talk__slug=slug).first()
    )
    if membership is None:
        raise Http404("No such talk.")
    return membership.talk, membership


def talk_parties(*, talk: Talk) -> QuerySet[TalkParty]:
    return (
        TalkParty.objects.filter(talk=talk).select_related("party").order_by("role", "party__name")
    )


def talk_principals(*, talk: Talk) -> QuerySet[TalkParty]:
    return talk_parties(talk=talk).filter(role=TalkParty.Role.PRINCIPAL)


def issue_get_for_talk(*, talk: Talk, key: str) -> Issue:
    issue = Issue.objects.filter(talk=talk, key=key).prefetch_related(Prefetch("options")).first()
    if issue is None:
        raise Http404("No such issue.")
    return issue


def talk_rounds(*, talk: Talk) -> list[Round]:
    return list(Round.objects.filter(talk=talk).order_by("number"))


def talk_members(*, talk: Talk) -> QuerySet[Membership]:
    return Membership.objects.filter(talk=talk).select_related("user").order_by("user__username")


def issue_list_for_talk(*, talk: Talk) -> QuerySet[Issue]:
    """The talk's issues in dashboard order, with their options."""
    return (
        Issue.objects.filter(talk=talk)
        .prefetch_related(Prefetch("options", queryset=IssueOption.objects.order_by("order")))
        .order_by("order", "key")
    )
