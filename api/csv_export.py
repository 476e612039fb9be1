"""CSV exports: streamed row by row, safe to open in a spreadsheet, reversible to JSON.

A cell is what the JSON value would be, written plainly: empty for null, ``true`` /
``false``, numbers as JSON writes them, text as is, lists and objects as compact JSON.
A cell that a spreadsheet could run as a formula (one starting with = + - @, a tab or a
carriage return) gets a leading apostrophe, and so does one already starting with an
apostrophe, so ``restore_cell`` gives back exactly what was written. Plain numbers, such as
``-5``, are left alone: no spreadsheet runs them.
"""

import csv
import json
import re
from collections.abc import Iterable, Iterator, Mapping, Sequence
from typing import Any

from django.core.serializers.json import DjangoJSONEncoder
from django.http import StreamingHttpResponse
from rest_framework.renderers import BaseRenderer

FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r", "'")
_PLAIN_NUMBER = re.compile(r"-?\d+(\.\d+)?([eE][-+]?\d+)?")


def neutralize(text: str) -> str:
    if text.startswith(FORMULA_STARTS) and not _PLAIN_NUMBER.fullmatch(text):
        return "'" + text
    return text


def restore_cell(text: str) -> str:
    """Undo `neutralize`."""
    return text[1:] if text.startswith("'") else text


def cell(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return json.dumps(value)
    if isinstance(value, list | tuple | dict):
        return neutralize(
            json.dumps(value, cls=DjangoJSONEncoder, ensure_ascii=False, separators=(",", ":"))
        )
    return neutralize(str(value))


class _Echo:
    def write(self, value: str) -> str:
        return value


def csv_lines(columns: Sequence[str], rows: Iterable[Mapping[str, Any]]) -> Iterator[str]:
    writer = csv.writer(_Echo())
    yield writer.writerow(columns)
    for row in rows:
        yield writer.writerow([cell(row.get(c)) for c in columns])


def csv_response(
    *, columns: Sequence[str], rows: Iterable[Mapping[str, Any]], filename: str
) -> StreamingHttpResponse:
    response = StreamingHttpResponse(
        csv_lines(columns, rows), content_type="text/csv; charset=utf-8"
    )
    response["Content-Disposition"] = f'attachment; filename="{filename}"'
    return response


class CSVRenderer(BaseRenderer):
    """Lets content negotiation pick CSV (``Accept: text/csv`` or ``?format=csv``).

    The views stream the CSV themselves; this renders only what reaches it otherwise.
    """

    media_type = "text/csv"
    format = "csv"
    charset = "utf-8"

    def render(self, data: Any, accepted_media_type: str | None = None, renderer_context=None):
        if data is None:
            return b""
        rows = data.get("results", [data]) if isinstance(data, dict) else data
        columns = list(rows[0]) if rows else []
        return "".join(csv_lines(columns, rows)).encode()
