"""``FakeTikTok``, the face of the fake: its state, lifecycle and addresses, the scripting and
recording API tests use, and the router that hands each request to its route module."""

from __future__ import annotations

import asyncio
import functools
import itertools
import random
import time
from collections.abc import Callable, Iterable, Sequence
from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qsl, unquote, urlsplit

from websockets.asyncio.server import Server, ServerConnection, serve

from fastlive._config import Settings
from fastlive.testing.flv import FLVServer, GeneratedFLV
from fastlive.testing.server import handshake, push, sign, web, webcast
from fastlive.testing.server.handshake import PUSH_PATH
from fastlive.testing.server.records import ClientFrame, RecordedRequest, WsConnection
from fastlive.testing.server.responses import json_response, parse_cookie_header, response
from fastlive.testing.server.room import FakeRoom, room_by_handle
from fastlive.testing.server.sign import Issued, SignPlan
from fastlive.testing.server.waf import Waf, WafRules, is_web_route
from fastlive.testing.server.webcast import DEFAULT_GIFTS

if TYPE_CHECKING:
    from typing_extensions import Self
    from websockets.http11 import Request, Response

__all__ = ["FakeTikTok"]


class FakeTikTok:
    """TikTok on loopback: web API, webcast API, sign server and push websocket.

    Args:
        strict: check the upgrade like TikTok (signed token, user agent, session cookie;
            direct: a ``ttwid`` this fake minted and not flagged).
        require_api_key: if set, ``/webcast/fetch`` answers 401 without this ``X-Api-Key``.
        gifts: the gift catalogue served by ``/webcast/gift/list/``.
        ttwid_rate: the fraction of profile-page GETs that set a ``ttwid`` (the rest
            serve the challenge page); ``ttwid_misses`` first forces that many misses.
        seed: the random source of ``ttwid_rate``.
        waf: :class:`~fastlive.testing.server.waf.WafRules` to play TikTok's WAF: a budget
            per client address over the web routes, the SlardarWAF page past it, and a
            block that lasts and extends on hits (None: no WAF).
        sign_plan: a :class:`~fastlive.testing.server.sign.SignPlan` for the sign server:
            ``RateLimit-*`` headers on every fetch, 429 past its limit (None: unlimited).

    Attributes:
        ttwid_misses: the next N profile-page GETs miss (may be changed at any time).
        minted: every ``ttwid`` set -> the user agent of the request that got it.
        flagged: ``ttwid`` values answered DEVICE_BLOCKED (refused again on reuse).
        flv: the :class:`~fastlive.testing.flv.FLVServer` of the rooms' video.
        waf: the :class:`~fastlive.testing.server.waf.Waf` (its ``hits`` and ``blocks``),
            or None.
    """

    def __init__(
        self,
        *,
        strict: bool = True,
        require_api_key: str | None = None,
        gifts: Sequence[dict[str, Any]] = DEFAULT_GIFTS,
        ttwid_rate: float = 1.0,
        ttwid_misses: int = 0,
        seed: int = 0,
        waf: WafRules | None = None,
        sign_plan: SignPlan | None = None,
    ) -> None:
        self.strict = strict
        self.waf = Waf(waf) if waf is not None else None
        self.sign_plan = sign_plan
        self.ttwid_rate = ttwid_rate
        self.ttwid_misses = ttwid_misses
        self.minted: dict[str, str] = {}
        self.flagged: set[str] = set()
        self.flv = FLVServer()
        self._rng = random.Random(seed)
        self._joined: dict[int, asyncio.Event] = {}
        self.require_api_key = require_api_key
        self.gifts = [dict(g) for g in gifts]
        self.rooms: dict[int, FakeRoom] = {}
        self.requests: list[RecordedRequest] = []
        self.ws_connections: list[WsConnection] = []
        self.ws_received: list[ClientFrame] = []
        self._issued: dict[str, Issued] = {}
        self._http_faults: list[list[Any]] = []
        self._pending: dict[ServerConnection, tuple[FakeRoom, WsConnection]] = {}
        self._server: Server | None = None
        self._port = 0
        self._log_ids = itertools.count(7_400_000_000_000_000_001)

    # -- lifecycle ----------------------------------------------------------------

    async def start(self) -> None:
        """Start listening on a free loopback port."""
        self._server = await serve(
            self._handle_ws,
            "127.0.0.1",
            0,
            process_request=self._process_request,
            ping_interval=None,
            compression=None,
            max_size=2**20,
        )
        self._port = self._server.sockets[0].getsockname()[1]
        await self.flv.start()

    async def aclose(self) -> None:
        """Close every connection (1001) and stop listening."""
        if self._server is not None:
            for room in self.rooms.values():
                room._wake()
            self._server.close()
            await self._server.wait_closed()
            self._server = None
            await self.flv.aclose()

    async def __aenter__(self) -> Self:
        await self.start()
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.aclose()

    # -- addresses --------------------------------------------------------------

    @property
    def port(self) -> int:
        return self._port

    @property
    def web_url(self) -> str:
        """Stands for ``https://www.tiktok.com``."""
        return f"http://127.0.0.1:{self._port}"

    @property
    def webcast_url(self) -> str:
        """Stands for ``https://webcast.tiktok.com``."""
        return self.web_url

    @property
    def sign_api_url(self) -> str:
        """Stands for the sign server (``SIGN_API_URL``)."""
        return self.web_url

    @property
    def push_url(self) -> str:
        """The ``push_server`` the sign server hands out."""
        return f"ws://127.0.0.1:{self._port}{PUSH_PATH}"

    @property
    def ws_url(self) -> str:
        """Stands for the direct websocket host ``wss://webcast-ws.tiktok.com``."""
        return f"ws://127.0.0.1:{self._port}"

    def settings(self, **overrides: Any) -> Settings:
        """fastlive ``Settings`` pointed at this fake (``overrides`` win).

        Without a WAF (``waf=``) nothing limits the web side, so the web budget is off
        (``web_rate=0``); with one, the default budget applies, as against TikTok.
        """
        values: dict[str, Any] = {
            "web_url": self.web_url,
            "webcast_url": self.webcast_url,
            "sign_api_url": self.sign_api_url,
            "ws_url": self.ws_url,
            "http_timeout": 5.0,
            "ws_connect_timeout": 5.0,
        }
        if self.waf is None:
            values["web_rate"] = 0.0
        values.update(overrides)
        return Settings(**values)

    # -- scripting ----------------------------------------------------------------

    def add_room(
        self,
        unique_id: str,
        *,
        room_id: int,
        live: bool = True,
        frames: Iterable[Any] | None = None,
        initial: Iterable[Any] | None = None,
        **options: Any,
    ) -> FakeRoom:
        """Add a user and their room; a handle not added is an unknown user.

        Args:
            unique_id: the handle, without ``@``.
            room_id: the room's id.
            live: False makes the user offline (room status 4).
            frames: the websocket traffic: batches (lists of ``(method, payload,
                msg_id)``) and/or recorded frames (``bytes``), in order.
            initial: messages of the batch ``/webcast/fetch`` returns (may repeat
                the first frames' messages, as TikTok's backlog does).

        Keyword Args:
            interval: seconds between two frames (0: as fast as the socket takes).
            server_hb_every: send a server ``hb`` frame after every N frames (0: never).
            drop_after: abort the socket (no close frame, 1006) after N frames on a
                connection, ``drop_times`` times (default 1); the next connection
                resumes after the last frame sent, re-sending the last ``resend``.
            stall_after: after N frames on a connection, send nothing more (no
                frames, no heartbeat answers) until the client gives up;
                ``stall_times`` times (default 1).
            sign_rate_limit: the next N ``/webcast/fetch`` calls answer 429 with
                ``Retry-After: retry_after`` (default 1 s).
            sign_faults: answers for the next ``/webcast/fetch`` calls, in order:
                an HTTP status (500, 401, 429...) or ``"empty"``, ``"garbage"``,
                ``"no_cookies"``, ``"no_push_server"``, ``"no_cursor"``.
            handshake_status: answer the websocket upgrade with this status (200 or
                400, as TikTok does) and a ``Handshake-Msg: handshake_msg`` header,
                ``handshake_times`` times (default: always).
            age_restricted: room info says the room needs a logged-in session.
            html_blocked: the live page has no ``SIGI_STATE`` (a captcha page).
            ends: after its traffic the room ends: a ``WebcastControlMessage``
                (action 3), close 1000 ``close_delay`` seconds later (default
                0.05: clients that stop reading at the close still see the end),
                and the room goes offline.
            replay: every connection starts from the first frame (no resume).
            device_blocked: answer this many direct upgrades DEVICE_BLOCKED (True:
                every one); the ttwid presented is flagged and refused from then on.
            device_blocked_status: 200 (as seen live: ``Handshake-Msg: DEVICE_BLOCKED``,
                ``Handshake-Status: 415``, empty body) or 415 (a plain HTTP 415).
            history: on each direct join, first re-send up to this many of the
                comments already sent (TikTok's ``history_comment_count``).
            empty_ext_every: every Nth frame carries an empty ``internal_ext`` (a
                direct client must not ack it).
            video: serve the room's live video: a ``GeneratedFLV`` or True (300
                media tags); its end ends the room (offline at once if no socket is
                open to carry the end), and the room's end ends it.
            video_options: ``FLVServer.add_stream`` faults (``drop_after``...).
            nickname, user_id, title, viewers: what the web API reports.
        """
        room = FakeRoom(
            unique_id.lstrip("@"), room_id, live=live, frames=frames, initial=initial, **options
        )
        self.rooms[room_id] = room
        if room.video:
            source = room.video if isinstance(room.video, GeneratedFLV) else GeneratedFLV()
            name = str(room_id)
            on_end = functools.partial(self._video_ended, room)
            self.flv.add_stream(name, source, on_end=on_end, **room.video_options)
            room._on_end.append(lambda: self.flv.end(name))
        return room

    def _video_ended(self, room: FakeRoom) -> None:
        """The room's video ran out: the room ends.  With no open socket to carry the
        end (and take the room offline after it), it goes offline at once."""
        room.end()
        if not any(c.room_id == room.room_id and not c.closed for c in self.ws_connections):
            room.live = False

    def room(self, key: int | str) -> FakeRoom:
        """A room by id or by handle."""
        if isinstance(key, int):
            return self.rooms[key]
        found = room_by_handle(self.rooms, key)
        if found is None:
            raise KeyError(key)
        return found

    def fail_next(
        self,
        path: str,
        status: int,
        *,
        times: int = 1,
        headers: dict[str, str] | None = None,
        body: bytes = b"",
    ) -> None:
        """Answer the next ``times`` HTTP requests whose path starts with ``path`` with
        ``status`` (e.g. ``fail_next("/webcast/room/check_alive/", 429,
        headers={"Retry-After": "2"})``)."""
        self._http_faults.append([path, status, times, dict(headers or {}), body])

    # -- what clients did -----------------------------------------------------------

    def received(self, kind: str, room_id: int | None = None) -> list[ClientFrame]:
        """Client frames of one kind (``ack``, ``hb``, ``im_enter_room``), optionally one room."""
        return [
            f
            for f in self.ws_received
            if f.kind == kind and (room_id is None or f.room_id == room_id)
        ]

    def frames_of(self, connection: int) -> list[ClientFrame]:
        """Every frame the client sent on one connection, in order."""
        return [f for f in self.ws_received if f.connection == connection]

    def acks(self, room_id: int | None = None) -> list[ClientFrame]:
        return self.received("ack", room_id)

    def heartbeats(self, room_id: int | None = None) -> list[ClientFrame]:
        return self.received("hb", room_id)

    def requests_to(self, path: str) -> list[RecordedRequest]:
        """Recorded requests whose path starts with ``path``."""
        return [r for r in self.requests if r.path.startswith(path)]

    async def wait_for(self, predicate: Callable[[], object], timeout: float = 5.0) -> None:
        """Wait until ``predicate()`` is true; TimeoutError after ``timeout`` seconds."""
        deadline = time.monotonic() + timeout
        while not predicate():
            if time.monotonic() > deadline:
                raise TimeoutError(f"condition not met within {timeout} s")
            await asyncio.sleep(0.005)

    # -- routing ------------------------------------------------------------------

    def _process_request(self, connection: ServerConnection, request: Request) -> Response | None:
        """Record the request, then send it to its route (an upgrade goes on to the socket)."""
        parts = urlsplit(request.path)
        path = unquote(parts.path)
        query = dict(parse_qsl(parts.query, keep_blank_values=True))
        upgrade = "websocket" in request.headers.get("Upgrade", "").lower()
        headers = {k.lower(): v for k, v in request.headers.raw_items()}
        cookies = parse_cookie_header(request.headers.get("Cookie", ""))
        self.requests.append(
            RecordedRequest(
                method="GET",
                path=path,
                query=query,
                headers=headers,
                cookies=cookies,
                websocket=upgrade,
                at=time.time(),
            )
        )
        if self.waf is not None and not upgrade and is_web_route(path):
            address = connection.remote_address[0] if connection.remote_address else ""
            blocked = self.waf.check(str(address), path)
            if blocked is not None:
                return blocked
        fault = self._take_http_fault(path)
        if fault is not None:
            return fault
        if upgrade:
            return handshake.upgrade(self, connection, path, query, headers, cookies)
        try:
            if path.startswith("/@") and path.endswith("/live"):
                return web.live_page(self, path[2:-5])
            if path == "/" or (path.startswith("/@") and "/" not in path[2:].rstrip("/")):
                return web.profile_page(self, path[2:].rstrip("/") or "", headers)
            if path.rstrip("/") == "/api-live/user/room":
                return web.user_room(self, query)
            if path.rstrip("/") == "/webcast/room/check_alive":
                return webcast.check_alive(self, query)
            if path.rstrip("/") == "/webcast/room/info":
                return webcast.room_info(self, query)
            if path.rstrip("/") == "/webcast/gift/list":
                return webcast.gift_list(self)
            if path.rstrip("/") == "/webcast/fetch":
                return sign.sign_fetch(self, query, headers)
        except (KeyError, ValueError) as exc:
            return json_response(400, {"message": f"bad request: {exc}", "status_code": 400})
        return response(404, b"not found", "text/plain")

    def _take_http_fault(self, path: str) -> Response | None:
        for fault in self._http_faults:
            prefix, status, times, headers, body = fault
            if times > 0 and path.startswith(prefix):
                fault[2] -= 1
                return response(status, body, "application/json", headers)
        return None

    async def _handle_ws(self, ws: ServerConnection) -> None:
        """The websocket handler :func:`~fastlive.testing.server.push.handle_ws` of this fake."""
        await push.handle_ws(self, ws)
