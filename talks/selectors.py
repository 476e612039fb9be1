"""Reads of talks, always scoped to what the user may see.

A talk the user is not a member of does not exist for them: every lookup answers 404,
never 403, so the existence of a confidential talk does not leak.
"""

from collections.abc import Collection, Mapping
from typing import NamedTuple

from django.contrib.auth.models import AbstractBaseUser, AnonymousUser
from django.core.cache import cache
from django.db.models import Count, Max, Prefetch, Q, QuerySet
from django.http import Http404

from issues.models import Issue, IssueOption, Layer

from .models import ROLES_SEEING_ASSESSED, Membership, Party, Round, Talk, TalkParty

User = AbstractBaseUser | AnonymousUser


# Roles that read the assessed layer (Membership.can_see_assessed).
ASSESSED_READERS = (Membership.Role.ANALYST, Membership.Role.MEDIATOR)


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
            # On the layers the user may read: a viewer is not told when the assessed
            # layer last changed.
            last_change=Max(
                "issues__positions__updated_at",
                filter=Q(issues__positions__layer=Layer.DECLARED)
                | Q(memberships__role__in=ASSESSED_READERS),
            ),
        )
        .order_by("title")
    )


def membership_for(*, user: User, talk: Talk) -> Membership | None:
    if not user.is_authenticated:
        return None
    return Membership.objects.filter(user=user, talk=talk).first()


# A member's (talk, role) by slug is remembered this long; a change of membership or of the
# talk's slug forgets it at once (talks.signals).
MEMBER_CACHE_SECONDS = 60


def member_cache_key(user_id: int, slug: str) -> str:
    return f"talk-member:{user_id}:{slug}"


class RememberedAccess(NamedTuple):
    talk_id: int
    role: str
    title: str


def talk_access_remembered(*, user: User, slug: str) -> RememberedAccess:
    """The user's membership of the talk (talk id, role, title), or 404.

    For answers that can come from the cache alone (a dashboard's 304): a member's lookup
    is remembered, so such an answer touches no table. A miss is never remembered, so a
    non-member costs the same query as a talk that does not exist.
    """
    if not user.is_authenticated:
        raise Http404
    key = member_cache_key(user.pk, slug)
    remembered = cache.get(key)
    if remembered is not None:
        return RememberedAccess(*remembered)
    row = (
        Membership.objects.filter(user=user, talk__slug=slug)
        .values_list("talk_id", "role", "talk__title")
        .first()
    )
    if row is None:
        raise Http404("No such talk.")
    cache.set(key, tuple(row), timeout=MEMBER_CACHE_SECONDS)
    return RememberedAccess(*row)


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


# --- Visibility across talks (lists that span every talk of a user) ---------------------------


def membership_roles(*, user: User) -> dict[int, str]:
    """The user's role in each talk they belong to, by talk id (one query)."""
    if not user.is_authenticated:
        return {}
    return dict(Membership.objects.filter(user=user).order_by().values_list("talk_id", "role"))


def layers_for_role(role: str | None) -> tuple[str, ...]:
    """The layers a member with this role may read (none for a non-member)."""
    if role is None:
        return ()
    # Called per talk for every talk a user belongs to: a set lookup, not a model instance.
    if role in ROLES_SEEING_ASSESSED:
        return (Layer.DECLARED, Layer.ASSESSED)
    return (Layer.DECLARED,)


def layer_visibility_q(
    *,
    layers_by_talk: Mapping[int, Collection[str]],
    talk_field: str,
    layer_field: str | None = "layer",
) -> Q:
    """Rows of the talks (and, with `layer_field`, the layers) in `layers_by_talk` only.

    Talks are grouped by their set of layers, so the condition stays two clauses long
    however many talks a user belongs to. No talks: a condition nothing matches.
    """
    groups: dict[frozenset[str], list[int]] = {}
    for talk_id, layers in layers_by_talk.items():
        if layers:
            groups.setdefault(frozenset(layers), []).append(talk_id)
    condition = Q(pk__in=[])
    for layers, talk_ids in groups.items():
        clause = Q(**{f"{talk_field}__in": sorted(talk_ids)})
        if layer_field is not None and layers != frozenset(Layer.values):
            clause &= Q(**{f"{layer_field}__in": sorted(layers)})
        condition |= clause
    return condition


def talk_list_with_parties(
    *, user: User, layers_by_talk: Mapping[int, Collection[str]]
) -> QuerySet[Talk]:
    """The user's talks with their parties, and the last change on the layers they may read."""
    return (
        talk_list_for_user(user=user)
        .annotate(
            visible_last_change=Max(
                "issues__positions__updated_at",
                filter=layer_visibility_q(
                    layers_by_talk=layers_by_talk,
                    talk_field="pk",
                    layer_field="issues__positions__layer",
                ),
            )
        )
        .prefetch_related(
            Prefetch(
                "talk_parties",
                queryset=TalkParty.objects.select_related("party").order_by("role", "party__name"),
            )
        )
    )


def round_list_for_talks(*, talk_ids: Collection[int]) -> QuerySet[Round]:
    return Round.objects.filter(talk_id__in=talk_ids).select_related("talk")


def party_list_for_talks(*, talk_ids: Collection[int]) -> QuerySet[Party]:
    """Parties with a role in any of the talks, each with its roles in those talks only."""
    return (
        Party.objects.filter(talk_roles__talk_id__in=talk_ids)
        .distinct()
        .prefetch_related(
            Prefetch(
                "talk_roles",
                queryset=TalkParty.objects.filter(talk_id__in=talk_ids)
                .select_related("talk")
                .order_by("talk__title"),
                to_attr="visible_roles",
            )
        )
    )


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
