"""ETags and the conditional requests built on them (RFC 9110 section 13).

Versioned rows (positions, issues, sources) have a strong ETag made of their version, and
every write of them must name the version it edits in If-Match. Other representations get
an ETag hashed from their content, so a GET with If-None-Match can be answered 304.
"""

import hashlib
import json
import re
from typing import Any

from django.core.serializers.json import DjangoJSONEncoder
from rest_framework.request import Request

from .errors import PreconditionRequired

_QUOTED_VERSION = re.compile(r'"(\d{1,18})"')
_BARE_VERSION = re.compile(r"\d{1,18}")
_ETAG = re.compile(r'\s*(W/)?("[^"]*")\s*(?:,|$)')

STAR_REFUSED = (
    "If-Match: * would overwrite whatever version is current; "
    "send the ETag of the version you edited."
)


def version_etag(version: int) -> str:
    return f'"{version}"'


def content_etag(data: Any) -> str:
    encoded = json.dumps(data, sort_keys=True, cls=DjangoJSONEncoder, separators=(",", ":"))
    return '"' + hashlib.sha256(encoded.encode()).hexdigest()[:32] + '"'


def key_etag(*parts: object) -> str:
    return '"' + hashlib.sha256(":".join(map(str, parts)).encode()).hexdigest()[:32] + '"'


def if_match_version(request: Request) -> int:
    """The version named by If-Match; 0 (which no row has) when it names none we issued.

    Missing or ``*`` is refused with 428: a write must say which version it replaces.
    """
    header = request.headers.get("If-Match", "").strip()
    if not header:
        raise PreconditionRequired()
    if header == "*":
        raise PreconditionRequired(STAR_REFUSED)
    match = _QUOTED_VERSION.fullmatch(header) or _BARE_VERSION.fullmatch(header)
    if match is None:
        return 0  # a weak, foreign or malformed tag never matches: answered 412
    return int(match.group(1) if match.groups() else match.group(0))


def none_match(request: Request, etag: str) -> bool:
    """Whether If-None-Match names `etag` (weak comparison, as the RFC asks for GET)."""
    header = request.headers.get("If-None-Match", "")
    if not header:
        return False
    if header.strip() == "*":
        return True
    return any(tag == etag for _, tag in _ETAG.findall(header))
