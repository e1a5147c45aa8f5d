"""``FakeTikTok``: TikTok, its sign server and its push websocket on loopback.

One asyncio server on ``127.0.0.1`` (a free port) answers as:

* TikTok's web pages and web API: ``/@{uid}/live`` (HTML with ``SIGI_STATE``),
  ``/api-live/user/room/``;
* the webcast JSON API: ``/webcast/room/check_alive/``, ``/webcast/room/info/``,
  ``/webcast/gift/list/``;
* a sign server: ``/webcast/fetch`` answers a raw ``ProtoMessageFetchResult``
  whose ``push_server`` is this server's own ``ws://`` URL, plus ``X-Set-TT-Cookie``;
* the push websocket ``/webcast/im/push/v2/``: gzip ``msg`` frames with
  ``need_ack``, server ``hb`` frames, answers to heartbeats and room joins;
* the direct connection of protocol.md §2.8: profile pages (``/@{uid}``, ``/``)
  that set a ``ttwid`` cookie on a configurable fraction of requests and
  otherwise serve the challenge page (200, no cookie, ``X-TT-System-Error: 3``),
  and the direct websocket ``/webcast/im/ws_proxy/ws_reuse_supplement/``, which
  wants a minted ``ttwid`` and a user agent, waits for the room join before it
  sends anything, re-sends recent comments on each join (``history=``), and can
  answer DEVICE_BLOCKED in both shapes seen (``device_blocked=``);
* the live video: an :class:`~fastlive.testing.flv.FLVServer` serving rooms
  added with ``video=``, whose URLs room info carries in ``stream_url``.

Traffic is scripted per room, faults are keywords of :meth:`FakeTikTok.add_room`,
and everything a client sends is recorded (``requests``, ``ws_connections``,
``ws_received``).  It speaks the real protocol, so any client can be tested
against it, fastlive or not::

    from fastlive import CommentEvent
    from fastlive.client import TikTokLiveClient
    from fastlive.testing import FakeTikTok, chat, gift

    async def test_my_bot():
        async with FakeTikTok() as fake:
            fake.add_room("alice", room_id=7001, frames=[
                [chat("hello", msg_id=1)],           # one batch = one websocket frame
                [gift(msg_id=2), chat("bye", msg_id=3)],
            ], ends=True)                            # then a stream end, close 1000
            client = TikTokLiveClient("@alice", settings=fake.settings())
            comments = [e.comment async for e in client.events()
                        if isinstance(e, CommentEvent)]
            assert comments == ["hello", "bye"]
            assert len(fake.acks(7001)) >= 2         # what the client acknowledged

A message in a batch is a ``(method, payload, msg_id)`` tuple, or a bare payload
from a :mod:`fastlive.testing.factory` builder (method and msg_id are then read
from its ``common``; give each one its own ``msg_id=``, since clients drop
duplicates).  A traffic item is a batch or a recorded frame (raw ``bytes``, sent
as they are).  A new connection to a room resumes after the last frame sent.

``FakeTikTok.settings()`` points every URL at the fake, the direct websocket
host (``ws_url``) included.  The websocket never sends library pings (TikTok
does not) and accepts none of the ``permessage-deflate`` extension.  ``strict=True`` (the default) makes the
upgrade check what TikTok checks: the signed token (``wrss``) from the route
params, the user agent that was signed, and the session cookie when the fetch
was authenticated.
"""

from __future__ import annotations

import asyncio
import base64
import functools
import html
import http
import itertools
import json
import random
import secrets
import time
from collections import deque
from collections.abc import Callable, Iterable, Sequence
from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qsl, unquote, urlsplit

import msgspec
from websockets.asyncio.server import Server, ServerConnection, serve
from websockets.datastructures import Headers
from websockets.exceptions import ConnectionClosed
from websockets.http11 import Request, Response

from fastlive._config import Settings
from fastlive.proto import webcast_pb2 as pb
from fastlive.testing.factory import control, fetch_result, push_frame
from fastlive.testing.flv import FLVServer, GeneratedFLV, room_stream_url

if TYPE_CHECKING:
    from typing_extensions import Self

__all__ = [
    "ClientFrame",
    "FakeRoom",
    "FakeTikTok",
    "RecordedRequest",
    "WsConnection",
]

PUSH_PATH = "/webcast/im/push/v2/"
DIRECT_PATH = "/webcast/im/ws_proxy/ws_reuse_supplement/"
"""The direct websocket's path (protocol.md §2.8.4)."""
DEVICE_BLOCKED_STATUS = 415
CHALLENGE_ERROR = "3"
"""``X-TT-System-Error`` of the challenge page served instead of a ``ttwid``."""
JOIN_TIMEOUT = 5.0
"""Seconds a direct connection waits for ``im_enter_room`` before it closes."""
VIDEO_QUALITIES = ("origin", "hd", "sd", "ld")
_CHAT = "WebcastChatMessage"
CONTROL_STREAM_ENDED = 3
DEFAULT_GIFTS = (
    {"id": 5655, "name": "Rose", "diamond_count": 1, "type": 1},
    {"id": 5827, "name": "Ice Cream Cone", "diamond_count": 1, "type": 1},
    {"id": 6064, "name": "GG", "diamond_count": 1, "type": 1},
    {"id": 5487, "name": "Finger Heart", "diamond_count": 5, "type": 1},
    {"id": 6267, "name": "Corgi", "diamond_count": 299, "type": 2},
)
SignFault = int | str
"""An HTTP status for ``/webcast/fetch`` to answer, or one of ``"empty"`` (200, no
body), ``"garbage"`` (200, not protobuf), ``"no_cookies"``, ``"no_push_server"``,
``"no_cursor"`` (200 without that part)."""
SIGN_FAULT_NAMES = frozenset({"empty", "garbage", "no_cookies", "no_push_server", "no_cursor"})


class RecordedRequest(msgspec.Struct, kw_only=True):
    """One HTTP request the fake received (websocket upgrades included)."""

    method: str
    path: str
    query: dict[str, str]
    headers: dict[str, str]
    """Header names lower-cased."""
    cookies: dict[str, str]
    websocket: bool = False
    at: float = 0.0


class ClientFrame(msgspec.Struct, kw_only=True):
    """One binary websocket message a client sent, decoded.

    ``kind`` is the frame's ``payload_type`` (``hb``, ``ack``, ``im_enter_room``...);
    ``room_id`` comes from the heartbeat or join message, else the connection's room.
    """

    connection: int
    kind: str
    room_id: int
    log_id: int = 0
    internal_ext: str | None = None
    """For ``ack``: the payload as text."""
    seq: int | None = None
    """For ``hb``: ``send_packet_seq_id``."""
    raw: bytes = b""
    at: float = 0.0


class WsConnection(msgspec.Struct, kw_only=True):
    """One websocket connection: what the client asked for and what happened."""

    index: int
    room_id: int
    query: dict[str, str]
    headers: dict[str, str]
    cookies: dict[str, str]
    frames_sent: int = 0
    """``msg`` frames sent on this connection."""
    sent_log_ids: dict[int, str] = {}
    """log_id of each ``msg`` frame sent -> the ``internal_ext`` its ack must carry."""
    fault: str | None = None
    """``"drop"`` or ``"stall"`` when a fault hit this connection."""
    closed: bool = False
    direct: bool = False
    """A direct connection (``ws_reuse_supplement``, §2.8), not the signed push socket."""
    first_frames: list[str] = []
    """``payload_type`` of the client's first two frames (direct wants ``hb``, ``im_enter_room``)."""
    history_sent: int = 0
    """Messages re-sent on join (recent comments), on a direct connection."""


class _Issued(msgspec.Struct):
    room_id: int
    user_agent: str
    session_id: str | None


class FakeRoom:
    """One scripted room.  Attributes may be changed while the fake runs.

    See :meth:`FakeTikTok.add_room` for the meaning of every keyword.
    """

    def __init__(self, unique_id: str, room_id: int, **options: Any) -> None:
        self.unique_id = unique_id
        self.room_id = room_id
        self.nickname: str = options.pop("nickname", None) or unique_id.title()
        self.user_id: int = options.pop("user_id", None) or 6_000_000_000_000_000_000 + room_id
        self.live: bool = options.pop("live", True)
        self.title: str = options.pop("title", f"{self.nickname} is live")
        self.viewers: int = options.pop("viewers", 123)
        self.age_restricted: bool = options.pop("age_restricted", False)
        self.html_blocked: bool = options.pop("html_blocked", False)
        self.traffic: list[Any] = list(options.pop("frames", None) or [])
        self.initial: list[Any] = list(options.pop("initial", None) or [])
        self.interval: float = options.pop("interval", 0.0)
        self.server_hb_every: int = options.pop("server_hb_every", 5)
        self.drop_after: int | None = options.pop("drop_after", None)
        self.drop_times: int = options.pop("drop_times", 1)
        self.resend: int = options.pop("resend", 0)
        self.stall_after: int | None = options.pop("stall_after", None)
        self.stall_times: int = options.pop("stall_times", 1)
        self.sign_faults: list[SignFault] = [429] * options.pop("sign_rate_limit", 0)
        self.sign_faults += list(options.pop("sign_faults", ()))
        self.retry_after: float = options.pop("retry_after", 1.0)
        self.handshake_status: int | None = options.pop("handshake_status", None)
        self.handshake_msg: str = options.pop("handshake_msg", "device was blocked")
        self.handshake_times: int | None = options.pop("handshake_times", None)
        self.ends: bool = options.pop("ends", False)
        self.close_delay: float = options.pop("close_delay", 0.05)
        self.replay: bool = options.pop("replay", False)
        self.device_blocked: int | bool = options.pop("device_blocked", 0)
        self.device_blocked_status: int = options.pop("device_blocked_status", 200)
        self.history: int = options.pop("history", 0)
        self.empty_ext_every: int = options.pop("empty_ext_every", 0)
        self.video: GeneratedFLV | bool | None = options.pop("video", None)
        self.video_options: dict[str, Any] = options.pop("video_options", None) or {}
        if options:
            raise TypeError(f"add_room() got unknown keywords: {', '.join(sorted(options))}")
        for fault in self.sign_faults:
            if not isinstance(fault, int) and fault not in SIGN_FAULT_NAMES:
                raise ValueError(
                    f"unknown sign fault {fault!r}: use a status or {SIGN_FAULT_NAMES}"
                )
        self.position = 0
        """Traffic items sent so far; a new connection resumes from here."""
        self._resend_next = 0
        self._changed = asyncio.Event()
        self._ended = False
        self._recent: deque[tuple[str, bytes, int]] = deque(maxlen=max(self.history, 1))
        self._on_end: list[Callable[[], Any]] = []

    def __repr__(self) -> str:
        return f"FakeRoom({self.unique_id!r}, room_id={self.room_id}, live={self.live})"

    @property
    def status(self) -> int:
        """TikTok's room status: 2 live, 4 offline."""
        return 2 if self.live else 4

    def push(self, *items: Any) -> None:
        """Append traffic (batches or raw frames); open connections send it at once."""
        self.traffic.extend(items)
        self._wake()

    def end(self) -> None:
        """End the stream now: after pending traffic, a stream-end message, close 1000
        (and the video, if the room has one)."""
        self.ends = True
        self._wake()
        self._ended_video()

    def _ended_video(self) -> None:
        callbacks, self._on_end = self._on_end, []
        for callback in callbacks:
            callback()

    def _wake(self) -> None:
        self._changed.set()
        self._changed = asyncio.Event()


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

    Attributes:
        ttwid_misses: the next N profile-page GETs miss (may be changed at any time).
        minted: every ``ttwid`` set -> the user agent of the request that got it.
        flagged: ``ttwid`` values answered DEVICE_BLOCKED (refused again on reuse).
        flv: the :class:`~fastlive.testing.flv.FLVServer` of the rooms' video.
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
    ) -> None:
        self.strict = strict
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
        self._issued: dict[str, _Issued] = {}
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
        """fastlive ``Settings`` pointed at this fake (``overrides`` win)."""
        values: dict[str, Any] = {
            "web_url": self.web_url,
            "webcast_url": self.webcast_url,
            "sign_api_url": self.sign_api_url,
            "ws_url": self.ws_url,
            "http_timeout": 5.0,
            "ws_connect_timeout": 5.0,
        }
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
        found = self._room_by_handle(key)
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

    # -- HTTP ---------------------------------------------------------------------

    def _process_request(self, connection: ServerConnection, request: Request) -> Response | None:
        parts = urlsplit(request.path)
        path = unquote(parts.path)
        query = dict(parse_qsl(parts.query, keep_blank_values=True))
        upgrade = "websocket" in request.headers.get("Upgrade", "").lower()
        headers = {k.lower(): v for k, v in request.headers.raw_items()}
        cookies = _parse_cookie_header(request.headers.get("Cookie", ""))
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
        fault = self._take_http_fault(path)
        if fault is not None:
            return fault
        if upgrade:
            return self._upgrade(connection, path, query, headers, cookies)
        try:
            if path.startswith("/@") and path.endswith("/live"):
                return self._live_page(path[2:-5])
            if path == "/" or (path.startswith("/@") and "/" not in path[2:].rstrip("/")):
                return self._profile_page(path[2:].rstrip("/") or "", headers)
            if path.rstrip("/") == "/api-live/user/room":
                return self._user_room(query)
            if path.rstrip("/") == "/webcast/room/check_alive":
                return self._check_alive(query)
            if path.rstrip("/") == "/webcast/room/info":
                return self._room_info(query)
            if path.rstrip("/") == "/webcast/gift/list":
                return _json(200, {"data": {"gifts": self.gifts}, "status_code": 0})
            if path.rstrip("/") == "/webcast/fetch":
                return self._sign_fetch(query, headers)
        except (KeyError, ValueError) as exc:
            return _json(400, {"message": f"bad request: {exc}", "status_code": 400})
        return _response(404, b"not found", "text/plain")

    def _take_http_fault(self, path: str) -> Response | None:
        for fault in self._http_faults:
            prefix, status, times, headers, body = fault
            if times > 0 and path.startswith(prefix):
                fault[2] -= 1
                return _response(status, body, "application/json", headers)
        return None

    def _room_by_handle(self, handle: str) -> FakeRoom | None:
        handle = handle.lstrip("@").lower()
        for room in self.rooms.values():
            if room.unique_id.lower() == handle:
                return room
        return None

    def _user_json(self, room: FakeRoom) -> dict[str, Any]:
        return {
            "id": str(room.user_id),
            "uniqueId": room.unique_id,
            "nickname": room.nickname,
            "signature": "",
            "avatarLarger": f"{self.web_url}/avatar/{room.user_id}.jpeg",
            "roomId": str(room.room_id),
            "status": room.status,
            "secUid": f"MS4wLjABAAAA{room.user_id}",
        }

    def _live_room_json(self, room: FakeRoom) -> dict[str, Any]:
        return {
            "status": room.status,
            "title": room.title,
            "startTime": int(time.time()) - 600,
            "liveRoomStats": {"userCount": room.viewers, "enterCount": room.viewers * 3},
        }

    def _live_page(self, handle: str) -> Response:
        room = self._room_by_handle(handle)
        if room is not None and room.html_blocked:
            page = "<html><body><div id='captcha-verify'>Verify to continue</div></body></html>"
            return _response(200, page.encode(), "text/html; charset=utf-8")
        state: dict[str, Any] = {"AppContext": {"appContext": {"language": "en"}}}
        if room is not None:
            state["LiveRoom"] = {
                "liveRoomUserInfo": {
                    "user": self._user_json(room),
                    "liveRoom": self._live_room_json(room),
                }
            }
        sigi = json.dumps(state).replace("</", "<\\/")
        page = (
            "<!DOCTYPE html><html><head><title>TikTok LIVE</title></head><body>"
            f'<script id="SIGI_STATE" type="application/json">{sigi}</script>'
            f"<div>{html.escape(handle)}</div></body></html>"
        )
        return _response(200, page.encode(), "text/html; charset=utf-8")

    def _profile_page(self, handle: str, headers: dict[str, str]) -> Response:
        """A profile page: sets ``ttwid`` (``ttwid_rate``), else the challenge page."""
        page = f"<!DOCTYPE html><html><body><div>{html.escape(handle)}</div></body></html>"
        if self.ttwid_misses > 0 or self._rng.random() >= self.ttwid_rate:
            self.ttwid_misses = max(0, self.ttwid_misses - 1)
            return _response(
                200,
                page.encode(),
                "text/html; charset=utf-8",
                {"X-TT-System-Error": CHALLENGE_ERROR},
            )
        raw = base64.b64encode(secrets.token_bytes(24)).decode()
        ttwid = (
            f"1%7C{raw.replace('+', '%2B').replace('/', '%2F').replace('=', '%3D')}"
            f"%7C{int(time.time())}%7C{secrets.token_hex(32)}"
        )
        self.minted[ttwid] = headers.get("user-agent", "")
        cookie = f"ttwid={ttwid}; Path=/; Max-Age=31536000; HttpOnly; Secure; SameSite=None"
        return _response(200, page.encode(), "text/html; charset=utf-8", {"Set-Cookie": cookie})

    def _user_room(self, query: dict[str, str]) -> Response:
        room = self._room_by_handle(query.get("uniqueId", ""))
        extra = {"now": int(time.time() * 1000)}
        if room is None:
            return _json(
                200,
                {
                    "data": {},
                    "extra": extra,
                    "message": "user_not_found",
                    "statusCode": 19881007,
                },
            )
        return _json(
            200,
            {
                "data": {
                    "user": self._user_json(room),
                    "liveRoom": self._live_room_json(room),
                    "stats": {"followerCount": 1000, "followingCount": 10},
                },
                "extra": extra,
                "message": "",
                "statusCode": 0,
            },
        )

    def _check_alive(self, query: dict[str, str]) -> Response:
        data = []
        for text in query["room_ids"].split(","):
            room = self.rooms.get(int(text))
            if room is not None:
                data.append(
                    {"alive": room.live, "room_id": room.room_id, "room_id_str": str(room.room_id)}
                )
        return _json(
            200, {"data": data, "extra": {"now": int(time.time() * 1000)}, "status_code": 0}
        )

    def _stream_url(self, room: FakeRoom) -> dict[str, Any] | None:
        name = str(room.room_id)
        if not room.video or not room.live or name not in self.flv.streams:
            return None
        return room_stream_url({q: self.flv.url(name, q) for q in VIDEO_QUALITIES})

    def _room_info(self, query: dict[str, str]) -> Response:
        room = self.rooms.get(int(query["room_id"]))
        if room is None:
            return _json(200, {"data": {"message": "room does not exist"}, "status_code": 30003})
        if room.age_restricted:
            return _json(
                200,
                {
                    "data": {
                        "prompts": "This LIVE is age-restricted",
                        "age_restricted": {"restricted": True, "source": 1},
                    },
                    "status_code": 4003110,
                },
            )
        return _json(
            200,
            {
                "data": {
                    "id": room.room_id,
                    "id_str": str(room.room_id),
                    "status": room.status,
                    "title": room.title,
                    "user_count": room.viewers,
                    "stats": {
                        "like_count": 0,
                        "total_user": room.viewers * 3,
                        "enter_count": room.viewers * 3,
                    },
                    "owner": {
                        "id": room.user_id,
                        "id_str": str(room.user_id),
                        "display_id": room.unique_id,
                        "nickname": room.nickname,
                        "bio_description": "",
                        "follow_info": {"follower_count": 1000, "following_count": 10},
                        "avatar_large": {
                            "url_list": [f"{self.web_url}/avatar/{room.user_id}.jpeg"]
                        },
                    },
                    "age_restricted": {"restricted": False, "source": 0},
                    **(
                        {"stream_url": stream_url}
                        if (stream_url := self._stream_url(room)) is not None
                        else {}
                    ),
                },
                "extra": {"now": int(time.time() * 1000)},
                "status_code": 0,
            },
        )

    # -- sign server ------------------------------------------------------------

    def _sign_fetch(self, query: dict[str, str], headers: dict[str, str]) -> Response:
        if self.require_api_key and headers.get("x-api-key") != self.require_api_key:
            return _json(401, {"code": 401, "message": "A valid API key is required"})
        room = None
        if query.get("room_id"):
            room = self.rooms.get(int(query["room_id"]))
        elif query.get("unique_id"):
            room = self._room_by_handle(query["unique_id"])
        if room is None:
            return _json(404, {"code": 404, "message": "Room not found"})
        fault: SignFault | None = room.sign_faults.pop(0) if room.sign_faults else None
        if fault == 429:
            reset = max(1, round(room.retry_after))
            return _json(
                429,
                {"message": "Too many requests", "limit_label": "minute"},
                {
                    "Retry-After": f"{room.retry_after:g}",
                    "RateLimit-Limit": "10",
                    "RateLimit-Remaining": "0",
                    "RateLimit-Reset": str(reset),
                    "X-RateLimit-Reset": str(int(time.time()) + reset),
                },
            )
        if isinstance(fault, int):
            return _json(fault, {"code": fault, "message": f"fault injected: HTTP {fault}"})
        if fault == "empty":
            return _response(200, b"", "application/x-protobuf", self._sign_headers(room, ""))
        if fault == "garbage":
            return _response(
                200,
                b"\xff\xff\xff\xff",
                "application/x-protobuf",
                self._sign_headers(room, "ttwid=x"),
            )

        token = secrets.token_urlsafe(16)
        user_agent = query.get("user_agent", "")
        session = query.get("session_id") or _parse_cookie_header(
            headers.get("x-cookie-header", "")
        ).get("sessionid")
        self._issued[token] = _Issued(room.room_id, user_agent, session or None)
        now_ms = int(time.time() * 1000)
        cursor = f"{now_ms}_{room.room_id}_0_1_0_0"
        internal_ext = f"fetch_time:{now_ms}|start_time:0|wrss:{token}"
        messages = [_message_parts(item) for item in room.initial]
        if not room.live:  # what a sign server may say for an ended room
            messages = [self._control(room)]
        body = fetch_result(
            messages,
            cursor="" if fault == "no_cursor" else cursor,
            internal_ext=internal_ext,
            need_ack=False,
            is_first=True,
            push_server="" if fault == "no_push_server" else self.push_url,
            route_params={
                "wrss": token,
                "cursor": cursor,
                "internal_ext": internal_ext,
                "user_agent": user_agent,
                "host": "",
            },
            now=now_ms,
        )
        ttwid = (
            ""
            if fault == "no_cookies"
            else f"ttwid={secrets.token_urlsafe(24)}; tt_chain_token={secrets.token_urlsafe(12)}"
        )
        return _response(
            200,
            body,
            "application/x-protobuf",
            self._sign_headers(room, ttwid),
        )

    def _sign_headers(self, room: FakeRoom, cookies: str) -> dict[str, str]:
        headers = {
            "X-Request-Id": secrets.token_hex(8),
            "X-Agent-Id": "fake-agent",
            "X-Log-Code": "0",
            "X-Room-Id": str(room.room_id),
        }
        if cookies:
            headers["X-Set-TT-Cookie"] = cookies
        return headers

    # -- websocket ----------------------------------------------------------------

    def _upgrade(
        self,
        connection: ServerConnection,
        path: str,
        query: dict[str, str],
        headers: dict[str, str],
        cookies: dict[str, str],
    ) -> Response | None:
        def refuse(status: int, message: str) -> Response:
            return _response(status, b"", "text/plain", {"Handshake-Msg": message})

        if path not in (PUSH_PATH, DIRECT_PATH):
            return refuse(404, "uri not found")
        try:
            room = self.rooms[int(query.get("room_id", ""))]
        except (KeyError, ValueError):
            return refuse(400, "parameter error: unknown room_id")
        if room.handshake_status is not None and room.handshake_times != 0:
            if room.handshake_times is not None:
                room.handshake_times -= 1
            return refuse(room.handshake_status, room.handshake_msg)
        direct = path == DIRECT_PATH
        if direct:
            blocked = self._direct_refusal(room, headers, cookies)
            if blocked is not None:
                return blocked
        elif self.strict:
            issued = self._issued.get(query.get("wrss", ""))
            if issued is None or issued.room_id != room.room_id:
                return refuse(400, "parameter error: missing or unknown wrss")
            if issued.user_agent and headers.get("user-agent") != issued.user_agent:
                return refuse(200, "user agent differs from the signed one")
            if issued.session_id and cookies.get("sessionid") != issued.session_id:
                return refuse(200, "illegal secret key")
        record = WsConnection(
            index=len(self.ws_connections),
            room_id=room.room_id,
            query=query,
            headers=headers,
            cookies=cookies,
            direct=direct,
        )
        self.ws_connections.append(record)
        self._pending[connection] = (room, record)
        if direct:
            self._joined[record.index] = asyncio.Event()
        return None

    def _direct_refusal(
        self, room: FakeRoom, headers: dict[str, str], cookies: dict[str, str]
    ) -> Response | None:
        """DEVICE_BLOCKED for a direct upgrade that TikTok would refuse (§2.8.5)."""
        ttwid = cookies.get("ttwid", "")
        flag = bool(room.device_blocked)
        if flag and room.device_blocked is not True:
            room.device_blocked = int(room.device_blocked) - 1
        if not flag:
            flag = not ttwid or not headers.get("user-agent") or ttwid in self.flagged
            flag = flag or (self.strict and ttwid not in self.minted)
        if not flag:
            return None
        if ttwid:
            self.flagged.add(ttwid)
        if room.device_blocked_status == DEVICE_BLOCKED_STATUS:
            return _response(DEVICE_BLOCKED_STATUS, b"", "text/plain")
        return _response(
            room.device_blocked_status,
            b"",
            "text/plain",
            {
                "Handshake-Msg": "DEVICE_BLOCKED",
                "Handshake-Status": str(DEVICE_BLOCKED_STATUS),
                "x-tt-logid": secrets.token_hex(16).upper(),
            },
        )

    async def _handle_ws(self, ws: ServerConnection) -> None:
        room, record = self._pending.pop(ws)
        reader = asyncio.create_task(self._read_loop(ws, room, record))
        try:
            await self._send_loop(ws, room, record)
        except ConnectionClosed:
            pass
        finally:
            if record.fault == "stall":
                await ws.wait_closed()
            try:  # let the reader record what arrived before the close
                await asyncio.wait_for(reader, timeout=2.0)
            except (TimeoutError, asyncio.TimeoutError):
                pass
            record.closed = True

    async def _read_loop(self, ws: ServerConnection, room: FakeRoom, record: WsConnection) -> None:
        try:
            async for message in ws:
                if isinstance(message, str):
                    message = message.encode()
                frame = pb.WebcastPushFrame()
                try:
                    frame.ParseFromString(message)
                except Exception:  # noqa: BLE001  (record what a broken client sent)
                    self.ws_received.append(
                        ClientFrame(
                            connection=record.index,
                            kind="invalid",
                            room_id=room.room_id,
                            raw=message,
                            at=time.time(),
                        )
                    )
                    continue
                entry = ClientFrame(
                    connection=record.index,
                    kind=frame.payload_type,
                    room_id=room.room_id,
                    log_id=frame.log_id,
                    raw=message,
                    at=time.time(),
                )
                if len(record.first_frames) < 2:
                    record.first_frames.append(frame.payload_type)
                if frame.payload_type == "ack":
                    entry.internal_ext = frame.payload.decode("utf-8", "replace")
                elif frame.payload_type == "hb":
                    hb = pb.HeartBeatMessage()
                    hb.ParseFromString(frame.payload)
                    entry.room_id = hb.room_id or room.room_id
                    entry.seq = hb.send_packet_seq_id
                elif frame.payload_type == "im_enter_room":
                    enter = pb.WebcastImEnterRoomMessage()
                    enter.ParseFromString(frame.payload)
                    entry.room_id = enter.room_id or room.room_id
                self.ws_received.append(entry)
                reply = _REPLIES.get(frame.payload_type)
                if reply is not None and record.fault != "stall":
                    try:
                        await ws.send(reply)
                    except ConnectionClosed:  # closing: keep reading what is in flight
                        pass
                if frame.payload_type == "im_enter_room" and record.index in self._joined:
                    self._joined[record.index].set()
        except ConnectionClosed:
            pass

    async def _send_loop(self, ws: ServerConnection, room: FakeRoom, record: WsConnection) -> None:
        gzip_on = record.query.get("compress") == "gzip"
        if record.direct and not await self._direct_join(ws, room, record, gzip_on):
            return
        index = 0 if room.replay else max(0, room.position - room._resend_next)
        room._resend_next = 0
        sent = 0
        while True:
            if room.drop_after is not None and room.drop_times > 0 and sent >= room.drop_after:
                room.drop_times -= 1
                room._resend_next = room.resend
                record.fault = "drop"
                await asyncio.sleep(0.01)  # let the reader record the client's last frames
                await _abort(ws)
                return
            if room.stall_after is not None and room.stall_times > 0 and sent >= room.stall_after:
                room.stall_times -= 1
                record.fault = "stall"
                return
            if index < len(room.traffic):
                item = room.traffic[index]
                index += 1
                data = self._build_frame(item, room, record, index, gzip_on)
                if room.history and not isinstance(item, (bytes, bytearray, memoryview)):
                    room._recent.extend(p for p in map(_message_parts, item) if p[0] == _CHAT)
                await ws.send(data)
                sent += 1
                record.frames_sent += 1
                room.position = max(room.position, index)
                if room.server_hb_every and sent % room.server_hb_every == 0:
                    await ws.send(_REPLIES["hb"])
                await asyncio.sleep(room.interval)
                continue
            if room.ends:
                ending = [self._control(room)]
                await ws.send(self._build_frame(ending, room, record, index + 1, gzip_on))
                room.live = False
                room._ended = True
                room._ended_video()
                await asyncio.sleep(room.close_delay)
                await ws.close(1000, "stream ended")
                return
            changed = asyncio.ensure_future(room._changed.wait())
            closed = asyncio.ensure_future(ws.wait_closed())
            try:
                await asyncio.wait({changed, closed}, return_when=asyncio.FIRST_COMPLETED)
            finally:
                changed.cancel()
            if closed.done():
                return
            closed.cancel()

    async def _direct_join(
        self, ws: ServerConnection, room: FakeRoom, record: WsConnection, gzip_on: bool
    ) -> bool:
        """Wait for the client's ``im_enter_room``, then re-send recent comments."""
        joined = self._joined[record.index]
        closed = asyncio.ensure_future(ws.wait_closed())
        waiting = asyncio.ensure_future(joined.wait())
        try:
            await asyncio.wait(
                {closed, waiting}, timeout=JOIN_TIMEOUT, return_when=asyncio.FIRST_COMPLETED
            )
        finally:
            closed.cancel()
            waiting.cancel()
            del self._joined[record.index]
        if not joined.is_set():
            await ws.close(1000, "payload_handler_hb")  # never joined
            return False
        limit = _int(record.query.get("history_comment_count"), 0)
        recent = list(room._recent)[-min(room.history, limit) :] if room.history else []
        if recent and limit:
            record.history_sent = len(recent)
            await ws.send(self._build_frame(recent, room, record, 0, gzip_on))
        return True

    def _build_frame(
        self, item: Any, room: FakeRoom, record: WsConnection, seq: int, gzip_on: bool
    ) -> bytes:
        if isinstance(item, (bytes, bytearray, memoryview)):
            return bytes(item)
        now_ms = int(time.time() * 1000)
        internal_ext = f"internal_ext:{room.room_id}:{seq}:{now_ms}"
        if room.empty_ext_every and seq and seq % room.empty_ext_every == 0:
            internal_ext = ""
        batch = fetch_result(
            [_message_parts(message) for message in item],
            cursor=f"{now_ms}_{room.room_id}_{seq}_1_0_0",
            internal_ext=internal_ext,
            need_ack=True,
            push_server="",
            route_params={},
            now=now_ms,
        )
        log_id = next(self._log_ids)
        record.sent_log_ids[log_id] = internal_ext
        return push_frame(batch, log_id=log_id, seq_id=seq, gzip=gzip_on)

    def _control(self, room: FakeRoom) -> tuple[str, bytes, int]:
        """The stream-end message (``WebcastControlMessage`` action 3) of ``room``."""
        msg_id = next(self._log_ids)
        payload = control(
            CONTROL_STREAM_ENDED,
            msg_id=msg_id,
            room_id=room.room_id,
            create_time=int(time.time() * 1000),
        )
        return ("WebcastControlMessage", payload, msg_id)


# -- helpers ------------------------------------------------------------------------


def _message_parts(item: Any) -> tuple[str, bytes, int]:
    """``(method, payload, msg_id)`` from a tuple, or from a bare payload's ``common``."""
    if isinstance(item, (bytes, bytearray, memoryview)):
        common = _common_of(bytes(item))
        if common is None or not common.method:
            raise ValueError("a bare message payload needs common.method: pass a tuple")
        return common.method, bytes(item), common.msg_id
    method, payload, msg_id = item
    return str(method), bytes(payload), int(msg_id)


def _common_of(payload: bytes) -> pb.CommonMessageData | None:
    """Field 1 (``CommonMessageData``) of a webcast message, read from the wire."""
    pos = 0
    while pos < len(payload):
        key, pos = _read_varint(payload, pos)
        field, wire = key >> 3, key & 7
        if wire == 0:
            _, pos = _read_varint(payload, pos)
        elif wire == 2:
            size, pos = _read_varint(payload, pos)
            if field == 1:
                return pb.CommonMessageData.FromString(payload[pos : pos + size])
            pos += size
        elif wire in (1, 5):
            pos += 8 if wire == 1 else 4
        else:
            return None
    return None


def _read_varint(data: bytes, pos: int) -> tuple[int, int]:
    value = shift = 0
    while True:
        if pos >= len(data):
            raise ValueError("truncated varint")
        byte = data[pos]
        pos += 1
        value |= (byte & 0x7F) << shift
        if byte < 0x80:
            return value, pos
        shift += 7


def _frame(payload_type: str) -> bytes:
    """A payload-less frame of the server's (``hb``, ``im_enter_room_resp``)."""
    return pb.WebcastPushFrame(payload_encoding="pb", payload_type=payload_type).SerializeToString()


_REPLIES = {"hb": _frame("hb"), "im_enter_room": _frame("im_enter_room_resp")}
"""What the server answers to a client frame, by its ``payload_type`` (acks get nothing)."""


async def _abort(ws: ServerConnection) -> None:
    """Drop the TCP connection without a close frame, after flushing what was sent."""
    transport = ws.transport
    for _ in range(200):
        if transport.get_write_buffer_size() == 0:
            break
        await asyncio.sleep(0.005)
    transport.abort()


def _int(value: str | None, default: int) -> int:
    try:
        return int(value) if value is not None else default
    except ValueError:
        return default


def _parse_cookie_header(header: str) -> dict[str, str]:
    cookies: dict[str, str] = {}
    for part in header.split(";"):
        name, sep, value = part.strip().partition("=")
        if sep and name:
            cookies[name.strip()] = value.strip()
    return cookies


def _response(
    status: int, body: bytes, content_type: str, headers: dict[str, str] | None = None
) -> Response:
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


def _json(status: int, obj: Any, headers: dict[str, str] | None = None) -> Response:
    return _response(status, json.dumps(obj).encode(), "application/json", headers)
