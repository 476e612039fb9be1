"""Small formatting helpers for the pages."""

import datetime as dt
from collections.abc import Mapping
from typing import Any

from django import template
from django.utils import timezone
from django.utils.html import format_html

register = template.Library()


@register.filter
def percent(share: float | None) -> str:
    """A share of the scale as a percentage people read at a glance."""
    if share is None:
        return "—"
    value = float(share) * 100
    if 0 < value < 1:
        return "<1%"
    return f"{value:.0f}%"


@register.filter
def bar_width(share: float | None) -> str:
    """A share as an SVG width out of 100; a real gap never draws as nothing."""
    if not share:
        return "0"
    return f"{max(1.5, min(100.0, float(share) * 100)):.1f}"


@register.filter
def getitem(mapping: Mapping[Any, Any] | None, key: Any) -> Any:
    if not mapping:
        return None
    return mapping.get(key)


# Largest unit first, as django.utils.timesince counts them; a dashboard shows a few hundred
# of these, and timesince's translation machinery made them a third of its render time.
_UNITS = (
    (365 * 86400, "year"),
    (30 * 86400, "month"),
    (7 * 86400, "week"),
    (86400, "day"),
    (3600, "hour"),
    (60, "minute"),
)


def relative(seconds: float) -> str:
    """'just now', '5 minutes ago', '1 week ago': the largest whole unit, as people say it."""
    if seconds < 60:
        return "just now"
    for size, name in _UNITS:
        count = int(seconds // size)
        if count:
            return f"{count} {name}{'' if count == 1 else 's'} ago"
    return "just now"


@register.simple_tag
def ago(moment: dt.datetime | None, prefix: str = "") -> str:
    """A <time> saying how long ago, which the page's script keeps current."""
    if moment is None:
        return "—"
    local = timezone.localtime(moment)
    text = relative((timezone.now() - moment).total_seconds())
    return format_html(
        '<time datetime="{}" title="{}" data-relative data-prefix="{}">{}{}</time>',
        moment.isoformat(),
        f"{local:%-d %b %Y, %H:%M} {local.tzname()}",
        prefix,
        prefix,
        text,
    )


@register.simple_tag
def query(state: Any, **overrides: Any) -> str:
    """The page's query string with some filters changed, starting with '?'."""
    text = state.query(**overrides)
    return f"?{text}" if text else ""
