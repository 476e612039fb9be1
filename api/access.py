"""Who may see and change what, per DESIGN.md "Access": talk membership decides everything.

A non-member gets 404 for anything of a talk (never 403) and finds none of it in lists,
counts or filter choices. Viewers read the declared layer only; mediators read both;
analysts also write positions, issues and sources. Staff status grants nothing here.
"""

from collections.abc import Mapping
from dataclasses import dataclass
from functools import cached_property

from django.db.models import Q
from rest_framework import exceptions
from rest_framework.permissions import SAFE_METHODS, BasePermission
from rest_framework.request import Request

from talks.models import Membership
from talks.selectors import layer_visibility_q, layers_for_role, membership_roles

WRITE_NEEDS_ANALYST = "Only analysts of this talk can change its positions, issues and sources."
PROPOSAL_WRITERS = (Membership.Role.ANALYST, Membership.Role.MEDIATOR)
WRITE_NEEDS_PROPOSER = "Only mediators and analysts of this talk can draft and change proposals."
READ_ONLY_TOKEN = "This API token is read-only: it cannot change anything."


@dataclass(frozen=True)
class Access:
    roles: Mapping[int, str]

    @cached_property
    def talk_ids(self) -> frozenset[int]:
        return frozenset(self.roles)

    @cached_property
    def layers_by_talk(self) -> dict[int, tuple[str, ...]]:
        return {talk_id: layers_for_role(role) for talk_id, role in self.roles.items()}

    @cached_property
    def analyst_talk_ids(self) -> frozenset[int]:
        return frozenset(t for t, r in self.roles.items() if r == Membership.Role.ANALYST)

    def role(self, talk_id: int) -> str | None:
        return self.roles.get(talk_id)

    def layers(self, talk_id: int) -> tuple[str, ...]:
        return layers_for_role(self.roles.get(talk_id))

    def can_read(self, talk_id: int, layer: str | None = None) -> bool:
        layers = self.layers(talk_id)
        return bool(layers) and (layer is None or layer in layers)

    def q(self, talk_field: str, layer_field: str | None = "layer") -> Q:
        return layer_visibility_q(
            layers_by_talk=self.layers_by_talk, talk_field=talk_field, layer_field=layer_field
        )

    def require_read(self, talk_id: int, layer: str | None = None) -> None:
        if not self.can_read(talk_id, layer):
            raise exceptions.NotFound()

    def require_write(self, talk_id: int) -> None:
        """404 for a stranger to the talk, 403 for a member who is not its analyst."""
        self.require_read(talk_id)
        if self.roles.get(talk_id) != Membership.Role.ANALYST:
            raise exceptions.PermissionDenied(WRITE_NEEDS_ANALYST, code="role")

    def require_proposal_write(self, talk_id: int) -> None:
        """As require_write, for proposals, which mediators write too."""
        self.require_read(talk_id)
        if self.roles.get(talk_id) not in PROPOSAL_WRITERS:
            raise exceptions.PermissionDenied(WRITE_NEEDS_PROPOSER, code="role")


def access_for(request: Request) -> Access:
    """The user's memberships, read once per request."""
    cached = getattr(request, "_redline_access", None)
    if cached is None:
        cached = Access(roles=membership_roles(user=request.user))
        request._redline_access = cached
    return cached


class TokenScope(BasePermission):
    """A read-only token may only read; session sign-ins and full tokens are not limited."""

    message = READ_ONLY_TOKEN
    code = "read_only_token"

    def has_permission(self, request: Request, view: object) -> bool:
        if request.method in SAFE_METHODS or request.auth is None:
            return True
        if not hasattr(view, request.method.lower()):
            return True  # not a method of this endpoint: answered 405, not 403
        from .selectors import token_is_read_only

        return not token_is_read_only(token=request.auth)
