"""``TikTokLiveClient``: one room, from a @handle to a stream of events.

The client is the I/O shell around a :class:`fastlive.session.Session`: it
resolves the room over HTTP (``fastlive.web``), gets a signed first batch and
websocket URL (``fastlive.web.signer``), opens the websocket (the ``websockets``
asyncio client), and runs the loop: feed each message to the session, write
what the session wants sent, hand the events to callbacks and to
``async for event in client.events()``.  It owns the clocks: the heartbeat,
the stall watchdog and the reconnect backoff.

Three connection modes (``connect=``, ``Settings.connect``, ``FASTLIVE_CONNECT``):

* ``direct`` (protocol.md §2.8): the room from ``api-live/user/room``, an
  anonymous ``ttwid`` cookie minted from a profile page (shared through a
  :class:`~fastlive.web.ttwid.TtwidPool`), the websocket URL built from
  ``Settings.ws_url``; heartbeat then room join as soon as the socket opens.
* ``signed``: a sign server's first batch and websocket URL (§2.2).
* ``auto`` (default): direct first; when direct fails in a way a signed
  connection may not share (DEVICE_BLOCKED twice, no ttwid, the direct host
  unreachable) and a sign server is configured, the room moves to signed and
  tries direct again after ``Settings.direct_cooldown``.

Reconnection (on by default, ``Settings.reconnect``) follows the pure policy
of :class:`fastlive.supervisor.Supervisor`: a socket that closes without a
stream end, or stays silent longer than ``Settings.stall_timeout``, is
replaced after a backoff (a new ``ttwid`` when TikTok flagged the old one, a
fresh signature when signed).  The session's ``msg_id`` window spans
reconnects, so nothing already delivered is delivered again (TikTok re-sends
recent comments on every join).  A stream end (``LiveEndEvent``),
``disconnect()`` or a spent retry budget stops it.  Handler errors never stop it.

    client = TikTokLiveClient("@someone")

    @client.on(CommentEvent)             # TikTokLive style: callbacks, sync or async
    async def on_comment(event: CommentEvent) -> None:
        print(event.user.nickname, event.comment)

    client.run()                         # blocks; uvloop when installed

    async for event in TikTokLiveClient("@someone").events():   # fastlive style
        ...
"""

from __future__ import annotations

import asyncio
import contextlib
import inspect
import logging
import os
import time
import weakref
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Any, Protocol, TypeVar, overload

import httpx
import msgspec
from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import ConnectionClosed, InvalidHandshake, InvalidStatus

from fastlive._aio import run, wait_event
from fastlive._config import (
    DEFAULT_CLOSE_TIMEOUT,
    DEFAULT_EVENT_QUEUE,
    DEFAULT_SIGN_API_URL,
    DEFAULT_USER_AGENT,
    Settings,
    resolve_ws_url,
)
from fastlive._listeners import Listeners
from fastlive.events import (
    BaseEvent,
    ClientEvent,
    DisconnectEvent,
    ErrorEvent,
    ReconnectEvent,
)
from fastlive.exceptions import (
    AlreadyConnectedError,
    ConnectError,
    DeviceBlockedError,
    RateLimitedError,
    SignAPIError,
    SignatureMissingTokensError,
    SignatureRateLimitError,
    TikTokBlockedError,
    TtwidMissingError,
    UserOfflineError,
    WebcastBlockedError,
    WebError,
)
from fastlive.session import FETCH, FRAME, SENT, Session, parse_handshake_options
from fastlive.stats import RoomState, RoomStats
from fastlive.supervisor import Action, ConnectMode, Outcome, Supervisor, SupervisorStats
from fastlive.web import TikTokWeb, make_http_client, normalize_unique_id, safe_url
from fastlive.web.direct import (
    build_direct_ws_url,
    direct_handshake_headers,
    direct_upgrade_error,
    fetch_direct_room,
)
from fastlive.web.signer import SignClient, SignedFetch
from fastlive.web.streams import StreamUrl, parse_stream_urls
from fastlive.web.ttwid import TtwidMinter, TtwidPool, TtwidSession

if TYPE_CHECKING:
    from typing_extensions import Self

__all__ = [
    "DEFAULT_EVENT_QUEUE",
    "EventStream",
    "FrameListener",
    "SignPacer",
    "StateListener",
    "TikTokLiveClient",
]

logger = logging.getLogger("fastlive.client")

# Upgrade statuses worth retrying (TikTok's own trouble); any other non-101 is a block.
_RETRYABLE_UPGRADE = range(500, 600)

# Cookies that carry a logged-in identity: kept off the websocket unless authenticate_ws.
_SESSION_COOKIES = frozenset(
    {
        "sessionid",
        "sessionid_ss",
        "sid_tt",
        "sid_guard",
        "sid_ucp_v1",
        "ssid_ucp_v1",
        "uid_tt",
        "uid_tt_ss",
    }
)

Event = BaseEvent | ClientEvent
Handler = Callable[[Any], Any]
H = TypeVar("H", bound=Handler)

_END = object()  # ends an EventStream

DIRECT = ConnectMode.DIRECT
SIGNED = ConnectMode.SIGNED


class SignPacer(Protocol):
    """What a shared sign-server rate limiter offers a client (the Monitor passes one).

    ``acquire()`` is awaited before every ``/webcast/fetch``; ``rate_limited()``
    is called on every ``SignatureRateLimitError`` with its ``retry_after`` and
    ``reset_time``.
    """

    async def acquire(self) -> None: ...

    def rate_limited(self, retry_after: float, reset_time: float | None) -> None: ...


StateListener = Callable[["TikTokLiveClient", RoomState, RoomState], Any]
"""``callback(client, old_state, new_state)``, called synchronously on each change."""

FrameListener = Callable[[int, bytes, int], Any]
"""``callback(kind, data, time_ns)``: one raw frame (kinds of :mod:`fastlive.record.frames`)."""


class _Stop(Exception):
    """Internal: the run loop stops without an error (stream over, disconnect)."""


class _Ended:
    """Internal: how one connection attempt ended, for the supervisor."""

    __slots__ = ("code", "error", "last_rx", "outcome", "reason", "wait")

    def __init__(
        self,
        outcome: Outcome,
        reason: str,
        *,
        code: int | None = None,
        error: BaseException | None = None,
        wait: float | None = None,
        last_rx: float | None = None,
    ) -> None:
        self.outcome = outcome
        self.reason = reason
        self.code = code
        self.error = error
        self.wait = wait
        self.last_rx = last_rx


class EventStream:
    """``async for`` over every event of a client, until it disconnects.

    Made by :meth:`TikTokLiveClient.events`.  It is registered at once, so no
    event is missed between ``start()`` and the first iteration.  When the
    client is not running at the first iteration, the stream starts it (with
    the keyword arguments given to ``events()``), stops it if the loop is
    left early, and raises the error that ended the run, if any.  The buffer
    is bounded: a consumer that falls behind slows the reader down (the
    socket buffers, nothing is dropped).
    """

    def __init__(self, client: TikTokLiveClient, maxsize: int, start_kwargs: dict[str, Any]):
        self._client = client
        self._queue: asyncio.Queue[Any] = asyncio.Queue(maxsize)
        self._start_kwargs = start_kwargs
        self._started = False
        self._owns_client = False
        self._finished = False

    def __aiter__(self) -> EventStream:
        return self

    async def __anext__(self) -> Event:
        if self._finished:
            raise StopAsyncIteration
        if not self._started:
            self._started = True
            if not self._client.running:
                self._owns_client = True
                try:
                    await self._client.start(**self._start_kwargs)
                except BaseException:
                    self._finish()
                    raise
        item = await self._queue.get()
        if item is _END:
            self._finish()
            if self._owns_client:
                await self._client._raise_run_error()
            raise StopAsyncIteration
        return item

    async def aclose(self) -> None:
        """Stop iterating; disconnect the client if this stream started it."""
        if self._finished:
            return
        self._finish()
        if self._owns_client and self._client.running:
            await self._client.disconnect()

    def _finish(self) -> None:
        self._finished = True
        self._client._streams.discard(self)
        while not self._queue.empty():  # free a reader blocked on our full queue
            self._queue.get_nowait()

    async def _put(self, item: Any) -> None:
        if not self._finished:
            await self._queue.put(item)


class TikTokLiveClient:
    """Connect to one TikTok LIVE room and dispatch its events (TikTokLive-compatible).

    Args:
        unique_id: the host's @handle (``@`` and profile URLs are accepted).
        room_id: connect to this room directly, skipping the handle lookup.
        web_proxy: proxy URL (or ``httpx.Proxy``) for HTTP requests (web API and sign server).
        ws_proxy: proxy URL (or ``httpx.Proxy``) for the websocket (http, https, socks5).
        settings: a ``Settings``; the keyword overrides below are applied on top.
        sign_api_key, sign_api_url, web_url, webcast_url: override those settings.
        session_id, tt_target_idc: a logged-in TikTok session (cookies ``sessionid``,
            ``tt-target-idc``), used for the web API.
        authenticate_ws: also sign and open the websocket as that session (needed for
            some rooms; shares your session id with the sign server).
        web_kwargs: extra ``TikTokWeb`` arguments (``headers``, ``params``, ``cookies``).
        ws_kwargs: extra ``websockets.asyncio.client.connect`` arguments.
        http: an ``httpx.AsyncClient`` to share (the client then does not close it).
        max_queue: events buffered per ``events()`` iterator.
        logger: the ``logging.Logger`` to use (default ``fastlive.client``).
        connect: ``"auto"`` (default), ``"direct"`` or ``"signed"``
            (overrides ``Settings.connect`` / ``FASTLIVE_CONNECT``).
        ws_url: the direct websocket host: a URL or a preset (``default``, ``eu``, ``us``).
        sign_limiter: a shared :class:`SignPacer` (such as :class:`fastlive.SignLimiter`) for the sign server (the Monitor's).
        ttwid_pool: a shared :class:`~fastlive.web.ttwid.TtwidPool` (else the client makes
            its own, minting through ``web_proxy``).

    Attributes:
        stats: the room's :class:`~fastlive.stats.RoomStats`, kept current.
    """

    def __init__(
        self,
        unique_id: str | int,
        *,
        room_id: int | None = None,
        web_proxy: str | httpx.Proxy | None = None,
        ws_proxy: str | httpx.Proxy | None = None,
        settings: Settings | None = None,
        sign_api_key: str | None = None,
        sign_api_url: str | None = None,
        web_url: str | None = None,
        webcast_url: str | None = None,
        session_id: str | None = None,
        tt_target_idc: str | None = None,
        authenticate_ws: bool = False,
        web_kwargs: dict[str, Any] | None = None,
        ws_kwargs: dict[str, Any] | None = None,
        http: httpx.AsyncClient | None = None,
        max_queue: int = DEFAULT_EVENT_QUEUE,
        logger: logging.Logger | None = None,
        connect: str | ConnectMode | None = None,
        ws_url: str | None = None,
        sign_limiter: SignPacer | None = None,
        ttwid_pool: TtwidPool | None = None,
    ) -> None:
        overrides: dict[str, Any] = {
            "sign_api_key": sign_api_key,
            "sign_api_url": sign_api_url,
            "web_url": web_url,
            "webcast_url": webcast_url,
            "connect": ConnectMode.parse(connect).value if connect is not None else None,
            "ws_url": resolve_ws_url(ws_url) if ws_url is not None else None,
        }
        overrides = {k: v for k, v in overrides.items() if v is not None}
        if settings is None:
            settings = Settings.from_env(**overrides)
            explicit_signer = bool(os.environ.get("SIGN_API_URL"))
        else:
            explicit_signer = False
            if overrides:
                for name in ("web_url", "webcast_url", "sign_api_url"):
                    if name in overrides:
                        overrides[name] = overrides[name].rstrip("/")
                settings = msgspec.structs.replace(settings, **overrides)
        self._settings = settings
        self._signer_configured = (
            bool(settings.sign_api_key)
            or settings.sign_api_url != DEFAULT_SIGN_API_URL
            or sign_api_url is not None
            or explicit_signer
        )
        self._logger = logger or globals()["logger"]
        self._unique_id = normalize_unique_id(str(unique_id))
        self._room_id_override = room_id
        self._room_id: int | None = int(room_id) if room_id else None
        self._room_info: dict[str, Any] | None = None
        self._gift_info: Any = None
        self._session_id = session_id
        self._tt_target_idc = tt_target_idc
        self._authenticate_ws = authenticate_ws
        self._ws_proxy = _proxy_url(ws_proxy)
        self._ws_kwargs = dict(ws_kwargs or {})
        self._max_queue = max_queue

        self._owns_http = http is None
        if http is not None and web_proxy is not None:
            raise ValueError("pass the proxy to your own AsyncClient, or do not pass http=")
        self._web_proxy = _proxy_url(web_proxy)
        self._http = http or make_http_client(settings, self._web_proxy)
        self._web = TikTokWeb(settings, http=self._http, **dict(web_kwargs or {}))
        if session_id:
            self._web.set_session(session_id, tt_target_idc)
        self._signer = SignClient(settings, self._http)

        self._handlers: Listeners[Handler] = Listeners()
        self._streams: weakref.WeakSet[EventStream] = weakref.WeakSet()
        self._sinks: list[Callable[[Any], Awaitable[None]]] = []
        self._handler_tasks: set[asyncio.Task[Any]] = set()

        self._task: asyncio.Task[None] | None = None
        self._starting = False
        self._run_error: BaseException | None = None
        self._session: Session | None = None
        self._ws: ClientConnection | None = None
        self._stop: asyncio.Event | None = None
        self._stalled = False
        self._busy = False
        self._last_rx = 0.0

        self._sign_limiter = sign_limiter
        self._ttwid_pool = ttwid_pool
        self._owns_pool = ttwid_pool is None
        self._ttwid: TtwidSession | None = None
        self._supervisor: Supervisor | None = None
        self._connect_mode = SIGNED.value if settings.connect == SIGNED.value else DIRECT.value
        self._state = RoomState.IDLE
        self._state_listeners: list[StateListener] = []
        self._frame_listeners: list[FrameListener] = []
        self._dup_mark = 0
        self.stats = RoomStats()

    # -- properties ----------------------------------------------------------

    @property
    def unique_id(self) -> str:
        """The host's handle, normalized (no ``@``)."""
        return self._unique_id

    @property
    def room_id(self) -> int | None:
        """The room id, once known (given, or resolved by ``start()``)."""
        return self._room_id

    @property
    def room_info(self) -> dict[str, Any] | None:
        """Room info JSON, when ``start(fetch_room_info=True)`` fetched it."""
        return self._room_info

    @property
    def gift_info(self) -> Any:
        """The gift list, when ``start(fetch_gift_info=True)`` fetched it."""
        return self._gift_info

    @property
    def connected(self) -> bool:
        """True while a websocket to the room is open."""
        return self._ws is not None

    @property
    def running(self) -> bool:
        """True from ``start()`` until the final ``DisconnectEvent``."""
        return self._starting or (self._task is not None and not self._task.done())

    @property
    def web(self) -> TikTokWeb:
        """The web API helper (``client.web.fetch_room_info(room_id)`` and friends)."""
        return self._web

    @property
    def settings(self) -> Settings:
        return self._settings

    @property
    def logger(self) -> logging.Logger:
        return self._logger

    @property
    def session(self) -> Session | None:
        """The sans-I/O session of the current run (for diagnostics)."""
        return self._session

    @property
    def connect_mode(self) -> str:
        """``"direct"`` or ``"signed"``: the mode of the current (or next) attempt."""
        return self._connect_mode

    @property
    def connect_stats(self) -> SupervisorStats:
        """Attempts, mode switches, DEVICE_BLOCKED answers, ttwid mints and misses of
        the current (or last) run."""
        if self._supervisor is None:
            return SupervisorStats()
        return self._supervisor.stats

    @property
    def signer_configured(self) -> bool:
        """True when a sign server is configured (an API key, or ``SIGN_API_URL``):
        only then does ``auto`` fall back to signed connections."""
        return self._signer_configured

    @property
    def state(self) -> RoomState:
        """Where the room stands: IDLE, CONNECTING, LIVE, BACKING_OFF, ENDED or FAILED."""
        return self._state

    def add_state_listener(self, callback: StateListener) -> StateListener:
        """Call ``callback(client, old, new)`` on every change of :attr:`state`."""
        if not callable(callback):
            raise TypeError(f"{callback!r} is not callable")
        self._state_listeners.append(callback)
        return callback

    def remove_state_listener(self, callback: StateListener) -> None:
        """Remove one registration of ``callback`` (``ValueError`` if absent)."""
        self._state_listeners.remove(callback)

    def add_frame_listener(self, callback: FrameListener) -> FrameListener:
        """Call ``callback(kind, data, time_ns)`` for every raw frame, synchronously.

        ``kind`` is :data:`fastlive.record.frames.FRAME` for each websocket message
        received (before it is decoded), ``FETCH`` for the sign server's initial
        fetch result (signed connections), ``SENT`` for each frame the client
        sends (heartbeats, acks, the room join); ``time_ns`` is wall-clock time
        (``time.time_ns()``), the clock of :class:`fastlive.record.frames.Recorder`.
        The callback runs on the reader's path: keep it quick, do not block.  One
        that raises is logged once and removed; the client goes on.
        """
        if not callable(callback):
            raise TypeError(f"{callback!r} is not callable")
        self._frame_listeners.append(callback)
        return callback

    def remove_frame_listener(self, callback: FrameListener) -> None:
        """Remove one registration of ``callback`` (``ValueError`` if absent)."""
        self._frame_listeners.remove(callback)

    def _frame(self, kind: int, data: bytes) -> None:
        """Hand one raw frame to the frame listeners; drop any that raises."""
        now = time.time_ns()
        for callback in tuple(self._frame_listeners):
            try:
                callback(kind, data, now)
            except Exception:  # user code must not break the client
                self._logger.exception("frame listener %r raised: it is removed", callback)
                with contextlib.suppress(ValueError):
                    self._frame_listeners.remove(callback)

    def _set_state(self, new: RoomState) -> None:
        old = self._state
        if old is new:
            return
        self._state = new
        for callback in list(self._state_listeners):
            try:
                callback(self, old, new)
            except Exception:  # user code must not break the client
                self._logger.exception("state listener %r raised", callback)

    # -- listeners -----------------------------------------------------------

    @overload
    def on(self, event: type, f: None = None) -> Callable[[H], H]: ...

    @overload
    def on(self, event: type, f: H) -> H: ...

    def on(self, event: type, f: Handler | None = None) -> Any:
        """Register ``f`` for ``event`` (and its subclasses); usable as ``@client.on(Event)``."""
        if f is None:

            def decorator(func: H) -> H:
                self.add_listener(event, func)
                return func

            return decorator
        self.add_listener(event, f)
        return f

    def add_listener(self, event: type, f: Handler) -> Handler:
        """Call ``f(event)`` for every event of type ``event`` or a subclass; sync or async."""
        return self._handlers.add(event, f)

    def remove_listener(self, event: type, f: Handler) -> None:
        """Remove one registration of ``f`` for ``event`` (``ValueError`` if absent)."""
        self._handlers.remove(event, f)

    def remove_all_listeners(self, event: type | None = None) -> None:
        """Remove every handler of ``event``, or of all events."""
        self._handlers.clear(event)

    def has_listener(self, event: type) -> bool:
        """True when a handler is registered for exactly this event class."""
        return self._handlers.has(event)

    def listeners(self, event: type) -> list[Handler]:
        """The handlers registered for exactly this event class."""
        return self._handlers.get(event)

    def events(self, *, max_queue: int | None = None, **start_kwargs: Any) -> EventStream:
        """Iterate over every event until the client disconnects.

        ``async for event in client.events(): ...`` starts the client if it is
        not running (``start_kwargs`` go to ``start()``) and stops it when the
        loop is left.  Iterators made while the client runs just observe it.
        """
        stream = EventStream(self, max_queue or self._max_queue, start_kwargs)
        self._streams.add(stream)
        return stream

    def add_event_sink(self, sink: Callable[[Any], Awaitable[None]]) -> None:
        """Await ``sink(event)`` for every event, in order, before reading on.

        For consumers that forward events elsewhere (the Monitor does): one await per
        event and no queue of the client's in between; a slow sink holds the socket
        reader back, as a full ``events()`` iterator does.  An exception in the sink
        is logged and the connection goes on.
        """
        self._sinks.append(sink)

    def remove_event_sink(self, sink: Callable[[Any], Awaitable[None]]) -> None:
        """Stop calling ``sink`` (``ValueError`` if it was not added)."""
        self._sinks.remove(sink)

    # -- lifecycle -------------------------------------------------------------

    async def start(
        self,
        *,
        process_connect_events: bool = True,
        fetch_room_info: bool = False,
        fetch_gift_info: bool = False,
        fetch_live_check: bool = True,
        room_id: int | None = None,
        compress_ws_events: bool = True,
    ) -> asyncio.Task[None]:
        """Resolve the room (and sign, in signed mode); start the connection in a task.

        In ``direct`` mode the room and its live state come from
        ``api-live/user/room``; in ``auto`` mode a blocked or rate-limited lookup
        falls back to the signed flow when a sign server is configured.
        ``compress_ws_events`` is accepted for TikTokLive scripts; fastlive always asks
        for gzip frames (they are inflated in compiled code, with a size bound).

        Raises:
            AlreadyConnectedError: this client is already running.
            UserNotFoundError, UserOfflineError: the handle does not exist / is not live.
            SignAPIError: the sign server refused (rate limits are waited out first).
            TikTokBlockedError, RateLimitedError: TikTok refused the room lookup.
        """
        if self.running:
            raise AlreadyConnectedError(
                "this client is already connected: call disconnect() first, "
                "or make one client per room"
            )
        self._starting = True
        self._set_state(RoomState.CONNECTING)
        try:
            signed = await self._prepare(
                room_id, fetch_room_info, fetch_gift_info, fetch_live_check
            )
        except BaseException:
            self._set_state(RoomState.FAILED)
            raise
        finally:
            self._starting = False
        assert self._supervisor is not None
        self._session = Session(
            self._room_id,
            unique_id=self._unique_id,
            dedup_window=self._settings.dedup_window,
            max_inflated_size=self._settings.max_inflated_size,
            direct=self._supervisor.mode is DIRECT,
        )
        self._dup_mark = 0
        self._task = asyncio.get_running_loop().create_task(
            self._run(self._session, signed, process_connect_events, fetch_live_check),
            name=f"fastlive:{self._unique_id or self._room_id}",
        )
        return self._task

    async def _prepare(
        self,
        room_id: int | None,
        fetch_room_info: bool,
        fetch_gift_info: bool,
        fetch_live_check: bool,
    ) -> SignedFetch | None:
        """Everything before the websocket: room id, live check, room info, gifts, and
        in signed mode the signature."""
        self._run_error = None
        self._stop = asyncio.Event()
        self._supervisor = supervisor = self._new_supervisor()
        self._connect_mode = supervisor.mode.value
        room = room_id or self._room_id_override
        checked = False
        if supervisor.mode is DIRECT and not room:
            try:
                found = await fetch_direct_room(
                    self._http,
                    self._settings.web_url,
                    self._unique_id,
                    user_agent=self._web.user_agent,
                )
            except (TikTokBlockedError, RateLimitedError) as exc:
                if isinstance(exc, RateLimitedError):
                    self.stats.rate_limited += 1
                if not supervisor.lookup_refused(asyncio.get_running_loop().time()):
                    raise
                self._logger.warning(
                    "@%s: the direct room lookup failed (%s); using the sign server",
                    self._unique_id,
                    exc,
                )
                self.stats.mode_switches += 1
                self._connect_mode = SIGNED.value
            else:
                if not found.room_id or (fetch_live_check and not found.live):
                    raise UserOfflineError(self._unique_id)
                room, checked = found.room_id, True
        if room:
            self._room_id = int(room)
        else:
            self._room_id = int(await self._web.fetch_room_id(self._unique_id))
        self._web.room_id = self._room_id  # client.web.fetch_room_info() without arguments
        if (
            fetch_live_check
            and not checked
            and not await self._web.fetch_is_live(room_id=self._room_id)
        ):
            raise UserOfflineError(self._unique_id)
        if fetch_room_info:
            self._room_info = await self._web.fetch_room_info(self._room_id)
        if fetch_gift_info:
            self._gift_info = await self._web.fetch_gift_list()
        if supervisor.mode is DIRECT:
            return None
        return await self._sign(attempts=self._settings.reconnect_attempts)

    def _new_supervisor(self) -> Supervisor:
        s = self._settings
        return Supervisor(
            s.connect,
            signer_configured=self._signer_configured,
            max_retries=s.direct_max_retries,
            signed_max_retries=s.reconnect_attempts,
            healthy_session=s.healthy_session,
            device_blocked_delay=s.device_blocked_delay,
            backoff_initial=s.backoff_initial,
            backoff_max=s.backoff_max,
            cooldown=s.direct_cooldown,
        )

    def _pool(self) -> TtwidPool:
        """The ttwid pool: the one given to the constructor, else this client's own."""
        if self._ttwid_pool is None:
            s = self._settings
            minter = TtwidMinter(s, proxy=self._web_proxy)
            pinned = s.user_agent if s.user_agent != DEFAULT_USER_AGENT else None
            self._ttwid_pool = TtwidPool(s.ttwid_share_cap, minter, user_agent=pinned)
        return self._ttwid_pool

    async def resolve_room_id(self) -> int:
        """The room id: the one given, the one known, or looked up from the handle."""
        if self._room_id:
            return self._room_id
        if self._room_id_override:
            return int(self._room_id_override)
        self._room_id = int(await self._web.fetch_room_id(self._unique_id))
        return self._room_id

    # -- video ---------------------------------------------------------------------

    async def stream_urls(self) -> list[StreamUrl]:
        """Every URL of the room's live video (qualities and formats), from room info.

        Raises:
            StreamUnavailableError: the room is offline or offers no video.
            AgeRestrictedError: the room needs a logged-in session.
        """
        room_id = await self.resolve_room_id()
        return parse_stream_urls(await self._web.fetch_room_info(room_id))

    async def connect(
        self, callback: Callable[[], Any] | None = None, **start_kwargs: Any
    ) -> asyncio.Task[None]:
        """``start()``, then wait until the connection ends; return the finished task.

        Raises what ``start()`` raises, and ``WebcastBlockedError`` /
        ``ConnectError`` when the websocket is refused or lost for good.
        """
        task = await self.start(**start_kwargs)
        if callback is not None:
            result = callback()
            if inspect.isawaitable(result):
                await result
        await self._wait(task)
        return task

    def run(self, **start_kwargs: Any) -> None:
        """Connect and block until disconnected (uvloop when installed)."""
        run(self._run_blocking(start_kwargs))

    async def _run_blocking(self, start_kwargs: dict[str, Any]) -> None:
        try:
            await self.connect(**start_kwargs)
        finally:
            await self.disconnect()
            await self.aclose()

    async def disconnect(self, close_client: bool = False) -> None:
        """Close the websocket, stop reconnecting, and wait for the final ``DisconnectEvent``.

        Safe to call from a handler (it then does not wait for itself).
        """
        if self._stop is not None:
            self._stop.set()
        ws = self._ws
        if ws is not None:
            with contextlib.suppress(Exception):
                await ws.close()
        task = self._task
        current = asyncio.current_task()
        if task is not None and current is not task and current not in self._handler_tasks:
            with contextlib.suppress(BaseException):
                await asyncio.shield(task)
        if close_client:
            await self.aclose()

    async def aclose(self) -> None:
        """Release the HTTP client and the ttwid minter (when this client made them)."""
        if self.running:
            await self.disconnect()
        if self._owns_pool and self._ttwid_pool is not None:
            await self._ttwid_pool.minter.aclose()
        if self._owns_http:
            await self._http.aclose()

    close = aclose

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.disconnect()
        await self.aclose()

    async def is_live(self, unique_id: str | None = None) -> bool:
        """Whether ``unique_id`` (default: this client's host) is live now."""
        if unique_id is None and self._room_id:
            room_id = self._room_id
        else:
            return await self._web.fetch_is_live(unique_id=unique_id or self._unique_id)
        return await self._web.fetch_is_live(room_id=room_id)

    # -- the run loop -----------------------------------------------------------

    async def _wait(self, task: asyncio.Task[None]) -> None:
        try:
            await asyncio.shield(task)
        except asyncio.CancelledError:
            if not task.done():  # we were cancelled, not the task: stop it
                await self.disconnect()
            raise

    async def _raise_run_error(self) -> None:
        if self._task is not None:
            with contextlib.suppress(BaseException):
                await asyncio.shield(self._task)
        if self._run_error is not None:
            raise self._run_error

    async def _sign(self, attempts: int) -> SignedFetch:
        """Fetch a signature, waiting out rate limits (``retry_after``) up to ``attempts`` times."""
        tries = 0
        limiter = self._sign_limiter
        while True:
            if limiter is not None:
                await limiter.acquire()
            try:
                signed = await self._signer.fetch(
                    self._room_id,
                    user_agent=self._web.user_agent,
                    session_id=self._session_id if self._authenticate_ws else None,
                    tt_target_idc=self._tt_target_idc if self._authenticate_ws else None,
                    allow_authenticated=self._authenticate_ws,
                )
            except SignatureRateLimitError as exc:
                self.stats.rate_limited += 1
                if limiter is not None:
                    limiter.rate_limited(exc.retry_after, exc.reset_time)
                tries += 1
                if tries > attempts or self._stopping:
                    raise
                self._logger.warning(
                    "sign server rate limit for room %s: retrying in %.1f s",
                    self._room_id,
                    exc.retry_after,
                )
                await self._sleep(exc.retry_after)
                continue
            if self._frame_listeners and signed.body:
                self._frame(FETCH, signed.body)
            return signed

    @property
    def _stopping(self) -> bool:
        return self._stop is not None and self._stop.is_set()

    async def _sleep(self, delay: float) -> None:
        """Sleep ``delay`` seconds, or less if ``disconnect()`` is called (a cancel that
        comes with the disconnect is not lost, unlike with ``asyncio.wait_for``)."""
        assert self._stop is not None
        await wait_event(self._stop, max(delay, 0.0))

    async def _run(
        self,
        session: Session,
        signed: SignedFetch | None,
        process_connect_events: bool,
        fetch_live_check: bool,
    ) -> None:
        settings = self._settings
        supervisor = self._supervisor
        assert supervisor is not None
        loop = asyncio.get_running_loop()
        code: int | None = None
        reason = ""
        rotate = False
        first = True
        final = RoomState.ENDED
        try:
            while True:
                if self._stopping:
                    reason = "disconnect() called"
                    break
                mode = supervisor.mode
                self._connect_mode = mode.value
                session.direct = mode is DIRECT
                self._set_state(RoomState.CONNECTING)
                started = loop.time()
                if mode is DIRECT:
                    recheck = fetch_live_check and not first
                    ended = await self._attempt_direct(session, rotate, recheck)
                else:
                    ended = await self._attempt_signed(
                        session, signed, process_connect_events, fetch_live_check
                    )
                rotate, signed, first = False, None, False
                code, reason = ended.code, ended.reason
                if session.ended:
                    ended.outcome = Outcome.STREAM_ENDED
                if ended.outcome is Outcome.STREAM_ENDED:
                    break
                if self._stopping:
                    reason = "disconnect() called"
                    break
                refusal = _refusal(ended.error)
                if not settings.reconnect:
                    if refusal is not None:
                        raise refusal
                    break
                now = loop.time()
                lived = (ended.last_rx if ended.last_rx is not None else now) - started
                decision = supervisor.attempt_ended(ended.outcome, max(lived, 0.0), now)
                if decision.device_blocked:
                    self.stats.device_blocked += 1
                if decision.switched:
                    self.stats.mode_switches += 1
                if decision.action is Action.STOP:
                    break
                if decision.action is Action.GIVE_UP:
                    if refusal is not None and mode is SIGNED:
                        raise refusal
                    raise ConnectError(
                        f"{decision.reason}. Last error: {ended.reason}"
                    ) from ended.error
                if decision.rotate:
                    if decision.mode is DIRECT:
                        rotate = True
                    elif self._ttwid_pool is not None:
                        self._ttwid_pool.discard(self._ttwid, self)
                        self._ttwid = None
                elif decision.switched and decision.mode is SIGNED:
                    if self._ttwid_pool is not None:
                        self._ttwid_pool.release(self)
                    self._ttwid = None
                delay = ended.wait if ended.wait is not None else decision.delay
                why = decision.reason if decision.switched else ended.reason
                self.stats.reconnects += 1
                self._logger.warning(
                    "room %s: %s; reconnecting %s in %.2f s (attempt %d of %d)",
                    self._room_id,
                    why,
                    decision.mode.value,
                    delay,
                    decision.attempt,
                    decision.max_retries,
                )
                self._set_state(RoomState.BACKING_OFF)
                await self._emit(ReconnectEvent(attempt=decision.attempt, delay=delay, reason=why))
                await self._sleep(delay)
        except _Stop:
            pass
        except asyncio.CancelledError:
            reason = reason or "cancelled"
            raise
        except BaseException as exc:
            final = RoomState.FAILED
            self._run_error = exc
            reason = str(exc)
            self._logger.error("room %s: connection failed: %s", self._room_id, exc)
            await self._emit(ErrorEvent(error=repr(exc), source="connection", exception=exc))
            raise
        finally:
            self._ws = None
            if self._ttwid_pool is not None:
                self._ttwid_pool.release(self)
                if self._owns_pool:
                    with contextlib.suppress(Exception):
                        await self._ttwid_pool.minter.aclose()
            self._ttwid = None
            self._set_state(final)
            with contextlib.suppress(BaseException):
                await self._finish(code, reason)

    async def _attempt_direct(self, session: Session, rotate: bool, recheck: bool) -> _Ended:
        """One direct attempt: a ttwid session from the pool, then the socket (§2.8).

        A reconnect first asks whether the room is still live (``recheck``): a room
        that ended while no socket was open is not joined again and again.
        """
        settings = self._settings
        if recheck:
            try:
                live = await self._web.fetch_is_live(room_id=self._room_id)
            except WebError as exc:  # unknown: the socket will tell
                self._logger.debug("room %s: live check failed (%s)", self._room_id, exc)
                live = True
            if not live:
                return _Ended(Outcome.STREAM_ENDED, "the stream is no longer live")
        pool = self._pool()
        uid = self._unique_id or None
        newest = max((s.id for s in pool.sessions), default=0)
        try:
            if rotate:
                ttwid = await pool.rotate(pool.session_of(self) or self._ttwid, self, uid)
            else:
                ttwid = await pool.acquire(self, uid)
        except TtwidMissingError as exc:
            self._ttwid = None
            self.stats.ttwid_misses += 1
            return _Ended(Outcome.MINT_FAILED, f"no ttwid cookie: {exc}", error=exc)
        if ttwid.id > newest and ttwid.rooms == {self}:
            self.stats.ttwid_mints += 1
            assert self._supervisor is not None
            self._supervisor.minted()
        self._ttwid = ttwid
        try:
            url = build_direct_ws_url(
                settings.ws_url,
                self._room_id or 0,
                heartbeat_ms=max(1, round(settings.heartbeat_interval * 1000)),
            )
        except ValueError as exc:
            raise ConnectError(f"{exc} (Settings.ws_url, FASTLIVE_WS_URL)") from None
        extra = None
        if self._authenticate_ws and self._session_id:
            extra = {"sessionid": self._session_id}
        headers = direct_handshake_headers(
            ttwid.user_agent, ttwid.ttwid, extra_cookies=extra, web_url=settings.web_url
        )
        return await self._serve(session, url, headers, None, direct=True)

    async def _attempt_signed(
        self,
        session: Session,
        signed: SignedFetch | None,
        process_initial: bool,
        fetch_live_check: bool,
    ) -> _Ended:
        """One signed attempt: live check and signature (unless start() did them), then
        the socket (§2.2, §3)."""
        try:
            if signed is None:
                if fetch_live_check and not await self._web.fetch_is_live(room_id=self._room_id):
                    return _Ended(Outcome.STREAM_ENDED, "the stream is no longer live")
                signed = await self._sign(attempts=0)
        except SignatureRateLimitError as exc:
            reason = f"sign server rate limit ({exc})"
            return _Ended(Outcome.ERROR, reason, error=exc, wait=exc.retry_after)
        except SignAPIError as exc:
            if _retryable_sign_error(exc):
                return _Ended(Outcome.ERROR, f"sign server failed ({exc})", error=exc)
            assert self._supervisor is not None
            if not self._supervisor.can_switch:
                raise  # a refusal (bad key, plan): retrying will not help
            return _Ended(Outcome.REJECTED, f"sign server refused ({exc})", error=exc)
        except RateLimitedError as exc:
            self.stats.rate_limited += 1
            reason = f"TikTok rate limit ({exc})"
            return _Ended(Outcome.ERROR, reason, error=exc, wait=exc.retry_after)
        except WebError as exc:
            return _Ended(Outcome.ERROR, f"live check failed ({exc})", error=exc)
        headers = {"User-Agent": signed.user_agent or self._web.user_agent}
        cookie = self._cookie_header(signed)
        if cookie:
            headers["Cookie"] = cookie
        initial = signed.batch if process_initial else None
        return await self._serve(session, signed.ws_url, headers, initial, direct=False)

    async def _finish(self, code: int | None, reason: str) -> None:
        """Dispatch the final ``DisconnectEvent``, let async handlers finish, end streams."""
        await self._emit(DisconnectEvent(code=code, reason=reason))
        current = asyncio.current_task()
        pending = [t for t in self._handler_tasks if t is not current and not t.done()]
        if pending:
            await asyncio.wait(pending)
        for stream in list(self._streams):
            await stream._put(_END)

    async def _serve(
        self,
        session: Session,
        url: str,
        headers: dict[str, str],
        initial: Any,
        *,
        direct: bool,
    ) -> _Ended:
        """Open one websocket and pump it until it closes; say how it ended."""
        settings = self._settings
        options: dict[str, Any] = {
            "additional_headers": headers,
            "user_agent_header": None,
            "ping_interval": None,
            "ping_timeout": None,
            "open_timeout": settings.ws_connect_timeout,
            "close_timeout": min(settings.ws_connect_timeout, DEFAULT_CLOSE_TIMEOUT),
            "max_size": settings.max_inflated_size,
            "compression": None,
        }
        if self._ws_proxy is not None:
            options["proxy"] = self._ws_proxy
        options["logger"] = _NoDebugLogger(logging.getLogger("websockets.client"), {})
        options.update(self._ws_kwargs)
        target = safe_url(url)  # a signed query carries signatures: never logged
        mode = "direct" if direct else "signed"
        self._logger.debug("room %s: opening %s websocket to %s", self._room_id, mode, target)
        try:
            ws = await connect(url, **options)
        except InvalidStatus as exc:
            response = exc.response
            if direct:
                error: Exception = direct_upgrade_error(response.status_code, response.headers, url)
            else:
                error = _upgrade_error(exc, target)
            if isinstance(error, DeviceBlockedError):
                outcome = Outcome.DEVICE_BLOCKED
            elif isinstance(error, WebcastBlockedError):
                outcome = Outcome.REJECTED
            else:
                outcome = Outcome.ERROR
            return _Ended(outcome, str(error), error=error)
        except (OSError, TimeoutError, asyncio.TimeoutError) as exc:
            text = (
                "timed out"
                if isinstance(exc, (TimeoutError, asyncio.TimeoutError))
                else (f"{type(exc).__name__}: {exc}")
            )
            error = ConnectError(f"could not open the {mode} websocket to {target} ({text})")
            return _Ended(Outcome.UNREACHABLE, str(error), error=error)
        except (InvalidHandshake, ConnectionClosed) as exc:
            error = ConnectError(f"the {mode} websocket upgrade to {target} failed ({exc})")
            return _Ended(Outcome.ERROR, str(error), error=error)

        loop = asyncio.get_running_loop()
        stats = self.stats
        perf = time.perf_counter_ns
        self._ws = ws
        self._stalled = False
        self._busy = False
        timer: asyncio.Task[None] | None = None
        try:
            interval = settings.heartbeat_interval
            if not direct:
                handshake = parse_handshake_options(
                    ws.response.headers.get("Handshake-Options", "")
                )
                interval = _positive_float(handshake.get("ping-interval")) or interval
            self._logger.info(
                "room %s: connected, %s (heartbeat every %g s)", self._room_id, mode, interval
            )
            self._set_state(RoomState.LIVE)
            session.opened()
            if initial is not None:
                session.receive_initial(initial)
            await self._send(ws, session.data_to_send())
            if session.duplicates_dropped != self._dup_mark:  # the initial batch's
                stats.duplicates += session.duplicates_dropped - self._dup_mark
                self._dup_mark = session.duplicates_dropped
            self._last_rx = loop.time()
            timer = loop.create_task(self._keepalive(ws, session, interval, direct))
            await self._deliver(session.events_received())
            if session.ended:
                return _Ended(Outcome.STREAM_ENDED, "the stream ended")
            async for data in ws:
                self._busy = True
                if type(data) is not bytes:
                    data = bytes(data, "utf-8") if isinstance(data, str) else bytes(data)
                if self._frame_listeners:
                    self._frame(FRAME, data)
                started = perf()
                session.receive(data)
                stats.decode_ns += perf() - started
                stats.frames += 1
                stats.bytes += len(data)
                if session.duplicates_dropped != self._dup_mark:
                    stats.duplicates += session.duplicates_dropped - self._dup_mark
                    self._dup_mark = session.duplicates_dropped
                frames = session.data_to_send()
                if frames:
                    await self._send(ws, frames)
                events = session.events_received()
                if events:
                    await self._deliver(events)
                if session.ended:
                    return _Ended(Outcome.STREAM_ENDED, "the stream ended")
                self._last_rx = loop.time()  # silence counts from when we wait again
                self._busy = False
            return self._socket_end(ws)
        except ConnectionClosed:
            return self._socket_end(ws)
        finally:
            self._ws = None
            session.closed()
            if timer is not None:
                timer.cancel()
                with contextlib.suppress(BaseException):
                    await timer
            if self._stalled:
                ws.transport.abort()
            else:
                with contextlib.suppress(Exception):
                    await ws.close()

    def _socket_end(self, ws: ClientConnection) -> _Ended:
        """How an open socket ended: stalled, closed by the server, or lost."""
        reason = _close_reason(ws, self._stalled, self._settings.stall_timeout)
        if self._stalled:
            return _Ended(Outcome.STALE, reason, code=ws.close_code, last_rx=self._last_rx)
        code = ws.close_code
        if code is None or code == 1006 or ws.protocol.close_rcvd is None:
            return _Ended(Outcome.ERROR, reason, code=code)
        return _Ended(Outcome.CLEAN_END, reason, code=code)

    async def _deliver(self, events: list[Any]) -> None:
        """Count and dispatch the events the session released."""
        if not events:
            return
        stats = self.stats
        counts = stats.events
        for event in events:
            counts[type(event).__name__] += 1
            await self._emit(event)
        stats.last_event_time = time.time()

    async def _keepalive(
        self, ws: ClientConnection, session: Session, interval: float, direct: bool = False
    ) -> None:
        """Send heartbeats every ``interval`` s; abort the socket after ``stall_timeout`` s silent.

        Silence counts only while the reader waits on the socket: a slow handler or a full
        ``events()`` queue is not a stall.  A direct socket got its first heartbeat on
        open, so the next one is due an interval later.
        """
        loop = asyncio.get_running_loop()
        stall = self._settings.stall_timeout
        next_hb = loop.time() + (interval if direct else 0.0)
        try:
            while True:
                now = loop.time()
                stall_at = now + stall if self._busy else self._last_rx + stall
                if now >= stall_at:
                    self._stalled = True
                    self._logger.warning(
                        "room %s: no data for %g s, dropping the socket", self._room_id, stall
                    )
                    ws.transport.abort()
                    return
                if now >= next_hb:
                    session.heartbeat()
                    await self._send(ws, session.data_to_send())
                    next_hb = now + interval
                await asyncio.sleep(max(min(next_hb, stall_at) - loop.time(), 0))
        except ConnectionClosed:
            return

    async def _send(self, ws: ClientConnection, frames: list[bytes]) -> None:
        """Write frames (each to the frame listeners once written); a socket already
        closing is not an error (its buffered input still has to be read, so the
        reader, not the writer, notices the end)."""
        try:
            for frame in frames:
                await ws.send(frame)
                if self._frame_listeners:
                    self._frame(SENT, frame)
        except ConnectionClosed:
            pass

    def _cookie_header(self, signed: SignedFetch) -> str:
        """The websocket ``Cookie`` header: the web jar plus the signer's cookies."""
        jar: dict[str, str] = {}
        cookies = self._web.cookies
        items = cookies.items() if hasattr(cookies, "items") else cookies
        for name, value in items:
            jar[name] = value
        jar.update(signed.cookies or {})
        if not self._authenticate_ws:
            for name in _SESSION_COOKIES:
                jar.pop(name, None)
        return "; ".join(f"{name}={value}" for name, value in jar.items() if value is not None)

    # -- dispatch ------------------------------------------------------------

    async def _emit(self, event: Any) -> None:
        """Hand one event to its handlers (by MRO) and to every ``events()`` iterator."""
        for handler in self._handlers.route(type(event)):
            try:
                result = handler(event)
            except Exception as exc:  # noqa: BLE001  (user code: any error is reported)
                await self._handler_failed(handler, event, exc)
                continue
            if inspect.isawaitable(result):
                task = asyncio.ensure_future(self._await_handler(handler, event, result))
                self._handler_tasks.add(task)
                task.add_done_callback(self._handler_tasks.discard)
        if self._streams:
            for stream in list(self._streams):
                await stream._put(event)
        for sink in self._sinks:
            try:
                await sink(event)
            except Exception:  # a consumer's bug must not cost the connection
                self._logger.exception("event sink %r raised on %s", sink, type(event).__name__)

    async def _await_handler(self, handler: Handler, event: Any, result: Awaitable[Any]) -> None:
        try:
            await result
        except Exception as exc:  # noqa: BLE001  (user code: any error is reported)
            await self._handler_failed(handler, event, exc)

    async def _handler_failed(self, handler: Handler, event: Any, exc: Exception) -> None:
        name = getattr(handler, "__qualname__", None) or repr(handler)
        self._logger.error(
            "handler %s raised on %s", name, type(event).__name__, exc_info=(type(exc), exc, None)
        )
        if isinstance(event, ErrorEvent) and event.source == "handler":
            return  # an ErrorEvent handler that fails is only logged
        await self._emit(ErrorEvent(error=repr(exc), source="handler", exception=exc))


# -- helpers ------------------------------------------------------------------


class _NoDebugLogger(logging.LoggerAdapter):
    """websockets' DEBUG log prints the upgrade headers, cookies included: keep it off."""

    def isEnabledFor(self, level: int) -> bool:
        return level > logging.DEBUG and self.logger.isEnabledFor(level)


def _refusal(error: BaseException | None) -> BaseException | None:
    """``error`` when it is a refusal worth raising as it is (a blocked upgrade, a
    sign server that said no), not a ``DEVICE_BLOCKED`` a new ttwid may cure."""
    if isinstance(error, DeviceBlockedError):
        return None
    if isinstance(error, WebcastBlockedError):
        return error
    if isinstance(error, SignAPIError) and not _retryable_sign_error(error):
        return error
    return None


def _retryable_sign_error(exc: SignAPIError) -> bool:
    """Sign server trouble that may pass (5xx, unreachable, a 200 missing its tokens)."""
    if isinstance(exc, SignatureMissingTokensError):
        return True
    return exc.status is None or exc.status >= 500


def _proxy_url(proxy: str | httpx.Proxy | None) -> str | None:
    """A proxy URL string from a string or an ``httpx.Proxy`` (credentials kept)."""
    if proxy is None or isinstance(proxy, str):
        return proxy
    url = proxy.url
    if proxy.auth:
        user, password = proxy.auth
        url = url.copy_with(username=user, password=password)
    return str(url)


def _positive_float(value: str | None) -> float | None:
    try:
        number = float(value) if value else None
    except ValueError:
        return None
    return number if number and number > 0 else None


def _upgrade_error(exc: InvalidStatus, target: str) -> Exception:
    """Map a refused websocket upgrade to a fastlive error."""
    response = exc.response
    status = response.status_code
    message = response.headers.get("Handshake-Msg", "")
    if status in _RETRYABLE_UPGRADE:
        return ConnectError(f"websocket upgrade to {target} failed with HTTP {status}")
    why = f'"{message}"' if message else "no reason given"
    return WebcastBlockedError(
        f"TikTok refused the websocket with HTTP {status} ({why}): the client was likely "
        "detected or the signature is bad; retrying at once will not help, try another "
        "sign server, session or network",
        status=status,
        handshake_msg=message,
    )


def _describe(exc: BaseException) -> str:
    if isinstance(exc, ConnectionClosed):
        rcvd = exc.rcvd
        if rcvd is not None:
            return f"socket closed by the server (code {rcvd.code})"
        return "socket lost without a close frame"
    return f"{type(exc).__name__}: {exc}"


def _close_reason(ws: ClientConnection, stalled: bool, stall_timeout: float) -> str:
    if stalled:
        return f"no data for {stall_timeout:g} s (stalled)"
    code = ws.close_code
    if code is None or code == 1006:
        return "socket lost without a close frame"
    return f"socket closed by the server (code {code})"
