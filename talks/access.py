"""Who may open which page of a talk.

A talk the user is not a member of does not exist for them: 404. A member whose role
does not allow a page (a viewer or mediator on an analyst's editing page) gets 403: they
know the talk exists, and the page says why it is closed to them.
"""

from dataclasses import dataclass

from django.core.exceptions import PermissionDenied
from django.http import HttpRequest
from django.views.decorators.http import require_http_methods

from issues.models import Layer

from . import selectors
from .models import Membership, Talk

# Pages with a form answer GET (and HEAD) and POST; any other method is a 405, for everyone
# alike, before anything about the talk is looked up.
form_page = require_http_methods(["GET", "HEAD", "POST"])

ANALYSTS_ONLY = "Only the talk's analysts can do this."
PROPOSERS_ONLY = "Only the talk's mediators and analysts draft and change proposals."
ASSESSED_HIDDEN = (
    "The assessed layer is shown to analysts and mediators only; "
    "you are seeing the declared positions."
)


def member_talk(request: HttpRequest, slug: str) -> tuple[Talk, Membership]:
    """The talk and the user's membership, or 404."""
    return selectors.talk_get_for_user(user=request.user, slug=slug)


def analyst_talk(request: HttpRequest, slug: str) -> tuple[Talk, Membership]:
    """As `member_talk`, and 403 unless the user is one of the talk's analysts."""
    talk, membership = member_talk(request, slug)
    if not membership.can_edit_positions:
        raise PermissionDenied(ANALYSTS_ONLY)
    return talk, membership


def proposer_talk(request: HttpRequest, slug: str) -> tuple[Talk, Membership]:
    """As `member_talk`, and 403 unless the user may draft the talk's proposals."""
    talk, membership = member_talk(request, slug)
    if not membership.can_write_proposals:
        raise PermissionDenied(PROPOSERS_ONLY)
    return talk, membership


@dataclass(frozen=True)
class LayerChoice:
    layer: str
    # Set when the requested layer was refused and another shown instead.
    notice: str = ""

    @property
    def is_assessed(self) -> bool:
        return self.layer == Layer.ASSESSED


def layer_for(membership: Membership, requested: str | None) -> LayerChoice:
    """The layer to show. A viewer asking for the assessed layer sees the declared one, and
    is told so: the page stays useful and the hidden layer's content never appears."""
    if requested == Layer.ASSESSED:
        if membership.can_see_assessed:
            return LayerChoice(Layer.ASSESSED)
        return LayerChoice(Layer.DECLARED, notice=ASSESSED_HIDDEN)
    return LayerChoice(Layer.DECLARED)


def visible_layers(membership: Membership) -> tuple[str, ...]:
    if membership.can_see_assessed:
        return (Layer.DECLARED, Layer.ASSESSED)
    return (Layer.DECLARED,)
