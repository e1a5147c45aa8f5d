"""``Dashboard``: a Monitor's live web page, JSON API, event relay and metrics, in its loop.

Routes (GET and HEAD):

- ``/``: every room (state, mode, viewers, events/s, diamonds, last event), a live feed
  of chat, gifts and follows, charts of viewers and diamonds; ``/static/...`` its files,
  all from the package (no CDN: it works offline).
- ``/overlay/<room>``: a page for an OBS browser source: chat and gift alerts.
- ``/api/rooms``: one JSON object per room; ``/api/history``: the charts' samples.
- ``/api/events``: server-sent events, one schema record per ``data:`` line, filtered by
  ``?room=@a,@b`` and ``?type=GiftEvent,CommentEvent`` (a class name matches its
  subclasses).  A client slower than the rooms loses its oldest records, counted in an
  ``event: dropped`` message; the rooms never wait for it.
- ``/metrics``: Prometheus text (:mod:`fastlive.dashboard.metrics`).

It binds to loopback by default.  Any other address needs a token; then every request
must carry it (``Authorization: Bearer TOKEN`` or ``?token=TOKEN``).  A page opened with
``?token=`` gets a cookie holding an HMAC of the token (never the token), so its own
scripts and streams need nothing more.  Without a token, requests whose ``Host`` is not
a loopback name are refused (DNS rebinding).  Pages never contain the token.
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import ipaddress
import json
from collections.abc import AsyncIterator
from importlib import resources
from typing import TYPE_CHECKING, Any

from prometheus_client import generate_latest
from prometheus_client.registry import CollectorRegistry

from fastlive.dashboard.http import HTTPServer, Request, Response
from fastlive.dashboard.hub import DEFAULT_SUBSCRIBER_QUEUE, Hub
from fastlive.dashboard.metrics import CONTENT_TYPE, DEFAULT_ROOM_LIMIT, MonitorCollector
from fastlive.exceptions import DashboardError
from fastlive.monitor.rooms import room_key

if TYPE_CHECKING:
    from typing_extensions import Self

__all__ = ["DEFAULT_DASHBOARD_PORT", "Dashboard", "is_loopback", "parse_address"]

DEFAULT_DASHBOARD_PORT = 8765
HEARTBEAT = 15.0
"""Seconds between two SSE comments on a quiet stream (proxies close idle ones)."""
COOKIE = "fastlive_dashboard"

_STATIC = {
    "dashboard.js": "text/javascript; charset=utf-8",
    "dashboard.css": "text/css; charset=utf-8",
    "overlay.js": "text/javascript; charset=utf-8",
    "overlay.css": "text/css; charset=utf-8",
    "charts.js": "text/javascript; charset=utf-8",
}
_PAGE_HEADERS = [
    ("content-security-policy", "default-src 'self'; img-src 'self' data:; frame-ancestors 'none'"),
    ("x-content-type-options", "nosniff"),
    ("referrer-policy", "no-referrer"),
    ("cache-control", "no-store"),
]
_LOOPBACK_NAMES = frozenset({"localhost", "localhost.", "ip6-localhost"})


def is_loopback(host: str) -> bool:
    """True for ``localhost`` and loopback addresses (127.0.0.0/8, ``::1``)."""
    host = host.strip("[]").lower()
    if host in _LOOPBACK_NAMES:
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def parse_address(text: str) -> tuple[str, int]:
    """``HOST:PORT``, ``[::1]:PORT`` or ``:PORT`` (loopback) to ``(host, port)``.

    Raises:
        DashboardError: not an address with a port from 0 to 65535.
    """
    host, sep, port = text.rpartition(":")
    if not sep or not port.isdigit() or int(port) > 65535:
        raise DashboardError(f"--dashboard wants HOST:PORT (such as 127.0.0.1:8765), not {text!r}")
    host = host.strip("[]") or "127.0.0.1"
    return host, int(port)


def _load(name: str) -> bytes:
    return resources.files("fastlive.dashboard").joinpath("static", name).read_bytes()


class Dashboard:
    """Serve a Monitor's dashboard from its own event loop; see the module docstring.

    Args:
        monitor: the :class:`~fastlive.monitor.Monitor` to show.
        host, port: where to listen (port 0: any free port; see ``.port``).
        token: needed for any address but loopback; then every request must carry it.
        max_queue: records waiting per ``/api/events`` client before its oldest drop.
        sample_interval: seconds between two chart samples.
        room_limit: rooms with ``/metrics`` series of their own (the rest are summed).

    Raises:
        DashboardError: a non-loopback ``host`` without a ``token``.
    """

    def __init__(
        self,
        monitor: Any,
        host: str = "127.0.0.1",
        port: int = DEFAULT_DASHBOARD_PORT,
        *,
        token: str | None = None,
        max_queue: int = DEFAULT_SUBSCRIBER_QUEUE,
        sample_interval: float = 2.0,
        heartbeat: float = HEARTBEAT,
        room_limit: int = DEFAULT_ROOM_LIMIT,
    ) -> None:
        if not is_loopback(host) and not token:
            raise DashboardError(
                f"the dashboard would be open to the network on {host}: "
                "pass --dashboard-token TOKEN, or bind to 127.0.0.1"
            )
        self.monitor = monitor
        self.host = host
        self.port = port
        self.heartbeat = heartbeat
        self._token = token.encode() if token else None
        self._session = (
            hmac.new(self._token, b"fastlive-dashboard-session", hashlib.sha256).hexdigest()
            if self._token
            else ""
        )
        self.hub = Hub(monitor, max_queue=max_queue, sample_interval=sample_interval)
        self._registry = CollectorRegistry(auto_describe=False)
        self._registry.register(MonitorCollector(monitor, self.hub, room_limit))
        self._files = {name: _load(name) for name in ("index.html", "overlay.html", *_STATIC)}
        self._http = HTTPServer(self._handle)

    def __repr__(self) -> str:
        return f"Dashboard({self.url!r}, token={'yes' if self._token else 'no'})"

    @property
    def url(self) -> str:
        """The page's address (without the token)."""
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"http://{host}:{self.port}/"

    async def start(self) -> None:
        """Listen and start sampling.

        Raises:
            DashboardError: the address cannot be bound (in use, not this machine's).
        """
        try:
            _, self.port = await self._http.start(self.host, self.port)
        except OSError as exc:
            raise DashboardError(
                f"the dashboard cannot listen on {self.host}:{self.port}: {exc.strerror or exc}; "
                "pick another port"
            ) from None
        self.hub.start()

    async def aclose(self) -> None:
        """End every stream and connection, stop listening."""
        await self.hub.aclose()
        await self._http.aclose()

    async def __aenter__(self) -> Self:
        await self.start()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.aclose()

    # -- requests -------------------------------------------------------------------

    async def _handle(self, request: Request) -> Response:
        if request.method not in ("GET", "HEAD"):
            return Response(405, b"GET only\n", headers=[("allow", "GET, HEAD")])
        refused = self._refuse(request)
        if refused is not None:
            return refused
        response = self._route(request)
        if self._token and request.query.get("token") and not self._has_cookie(request):
            response.headers.append(
                (
                    "set-cookie",
                    f"{COOKIE}={self._session}; Path=/; HttpOnly; SameSite=Strict",
                )
            )
        return response

    def _refuse(self, request: Request) -> Response | None:
        """401 without the token (when there is one); 403 for a foreign Host on loopback."""
        if self._token is None:
            host = request.headers.get("host", "")
            name = host.rsplit(":", 1)[0] if not host.endswith("]") else host
            if host and not is_loopback(name) and name != self.host:
                return Response(403, b"this dashboard answers on loopback names only\n")
            return None
        given = ""
        auth = request.headers.get("authorization", "")
        if auth[:7].lower() == "bearer ":
            given = auth[7:].strip()
        given = given or request.query.get("token", "")
        if given and hmac.compare_digest(given.encode(), self._token):
            return None
        if self._has_cookie(request):
            return None
        return Response(
            401,
            b"this dashboard needs its token: add ?token=TOKEN to the address, "
            b"or send Authorization: Bearer TOKEN\n",
            headers=[("www-authenticate", 'Bearer realm="fastlive"')],
        )

    def _has_cookie(self, request: Request) -> bool:
        for part in request.headers.get("cookie", "").split(";"):
            name, _, value = part.strip().partition("=")
            if name == COOKIE and hmac.compare_digest(value.encode(), self._session.encode()):
                return True
        return False

    def _route(self, request: Request) -> Response:
        path = request.path
        if path in ("/", "/index.html"):
            return self._page("index.html")
        if path.startswith("/overlay/") and len(path) > len("/overlay/"):
            return self._page("overlay.html")
        if path.startswith("/static/"):
            name = path[len("/static/") :]
            if name in _STATIC:
                return Response(200, self._files[name], _STATIC[name], list(_PAGE_HEADERS))
        elif path == "/api/rooms":
            return _json(self.hub.rooms())
        elif path == "/api/summary":
            return _json(self.hub.summary())
        elif path == "/api/history":
            rooms = [room_key(r) for r in _split(request.query.get("room", ""))]
            return _json(self.hub.history(rooms))
        elif path == "/api/events":
            return self._events(request)
        elif path == "/metrics":
            return Response(200, generate_latest(self._registry), CONTENT_TYPE)
        return Response(404, b"not found\n")

    def _page(self, name: str) -> Response:
        return Response(200, self._files[name], "text/html; charset=utf-8", list(_PAGE_HEADERS))

    def _events(self, request: Request) -> Response:
        rooms = [room_key(r) for r in _split(request.query.get("room", ""))]
        types = _split(request.query.get("type", ""))
        sub = self.hub.subscribe(rooms, types)
        return Response(
            200,
            self._stream(sub),
            "text/event-stream; charset=utf-8",
            [("cache-control", "no-store"), ("x-accel-buffering", "no")],
        )

    async def _stream(self, sub: Any) -> AsyncIterator[bytes]:
        """The SSE body: a hello, then records as they come, drop notices, heartbeats."""
        hub = self.hub
        reported = 0
        try:
            yield b"retry: 2000\n: fastlive events\n\n"
            while not sub.closed:
                try:
                    await asyncio.wait_for(sub.wakeup.wait(), self.heartbeat)
                except TimeoutError:
                    yield b": keep-alive\n\n"
                    continue
                records = sub.take()
                parts = [b"data: " + record + b"\n\n" for record in records]
                if sub.dropped != reported:
                    reported = sub.dropped
                    parts.append(b'event: dropped\ndata: {"dropped": %d}\n\n' % reported)
                if parts:
                    sub.sent += len(records)
                    yield b"".join(parts)
        finally:
            hub.unsubscribe(sub)


def _split(text: str) -> list[str]:
    return [part.strip() for part in text.split(",") if part.strip()]


def _json(data: Any) -> Response:
    body = json.dumps(data, separators=(",", ":")).encode()
    return Response(200, body, "application/json", [("cache-control", "no-store")])
