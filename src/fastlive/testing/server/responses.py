"""HTTP plumbing shared by the fake's routes: reading a request (the ``Cookie`` header, lenient
ints) and writing a response (raw or JSON, always ``Connection: close``)."""

from __future__ import annotations

import http
import json
from typing import Any

from websockets.datastructures import Headers
from websockets.http11 import Response

__all__ = ["int_or", "json_response", "parse_cookie_header", "response"]


def int_or(value: str | None, default: int) -> int:
    """``value`` as an int, or ``default`` when it is absent or not a number."""
    try:
        return int(value) if value is not None else default
    except ValueError:
        return default


def parse_cookie_header(header: str) -> dict[str, str]:
    """The name -> value pairs of a ``Cookie`` header (pairs without ``=`` skipped)."""
    cookies: dict[str, str] = {}
    for part in header.split(";"):
        name, sep, value = part.strip().partition("=")
        if sep and name:
            cookies[name.strip()] = value.strip()
    return cookies


def response(
    status: int, body: bytes, content_type: str, headers: dict[str, str] | None = None
) -> Response:
    """An HTTP response with its length, ``Connection: close`` and ``headers``."""
    all_headers = Headers()
    all_headers["Content-Type"] = content_type
    all_headers["Content-Length"] = str(len(body))
    all_headers["Connection"] = "close"
    for name, value in (headers or {}).items():
        all_headers[name] = value
    try:
        reason = http.HTTPStatus(status).phrase
    except ValueError:
        reason = "Unknown"
    return Response(status, reason, all_headers, body)


def json_response(status: int, obj: Any, headers: dict[str, str] | None = None) -> Response:
    """``obj`` as a JSON response."""
    return response(status, json.dumps(obj).encode(), "application/json", headers)
