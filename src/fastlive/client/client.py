"""``TikTokLiveClient``: one room, from a @handle to a stream of events.

The client is the I/O shell around a :class:`fastlive.session.Session`: it
resolves the room over HTTP (``fastlive.web``), gets a signed first batch and
websocket URL (``fastlive.web.signer``) or a ``ttwid`` for the direct socket,
opens the websocket, and runs the loop: feed each message to the session,
write what the session wants sent, hand the events to handlers and to
``async for event in client.events()``.  The work is split by job:

* :mod:`~fastlive.client.runner`: the room lookup, the modes and the retries;
* :mod:`~fastlive.client.connection`: one socket, its heartbeat and stall watchdog;
* :mod:`~fastlive.client.dispatch`: handlers (in arrival order), streams, sinks;
* :mod:`~fastlive.client.errors`: the libraries' errors translated at the boundary.

Connection modes (``connect=``: ``auto``, ``direct``, ``signed``) and reconnection
are described in :mod:`fastlive.client.runner`.  Handler errors never stop a run.

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
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Any, Protocol, TypeVar, overload

import httpx
import msgspec

from fastlive._aio import run
from fastlive._config import DEFAULT_EVENT_QUEUE, Settings, resolve_ws_url
from fastlive.client.dispatch import (
    Dispatcher,
    EventStream,
    FrameListener,
    FrameTap,
    Handler,
    Overflow,
    check_overflow,
)
from fastlive.client.runner import Runner
from fastlive.exceptions import AlreadyConnectedError
from fastlive.session import Session
from fastlive.stats import RoomState, RoomStats
from fastlive.supervisor import ConnectMode, SupervisorStats
from fastlive.web import TikTokWeb, make_http_client, normalize_unique_id
from fastlive.web.budget import Priority, WebBudget
from fastlive.web.signer import SignClient
from fastlive.web.streams import StreamUrl, parse_stream_urls
from fastlive.web.ttwid import TtwidPool

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

H = TypeVar("H", bound=Handler)


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
        max_queue: events queued for async handlers, and per ``events()`` iterator.
        overflow: what a full queue does: ``"block"`` (default) makes the room wait,
            ``"drop_oldest"`` drops the oldest queued event and counts it in ``stats.dropped``.
        logger: the ``logging.Logger`` to use (default ``fastlive.client``).
        connect: ``"auto"`` (default), ``"direct"`` or ``"signed"``
            (overrides ``Settings.connect`` / ``FASTLIVE_CONNECT``).
        ws_url: the direct websocket host: a URL or a preset (``default``, ``eu``, ``us``).
        sign_limiter: a shared :class:`SignPacer` (such as :class:`fastlive.SignLimiter`) for the sign server (the Monitor's).
        ttwid_pool: a shared :class:`~fastlive.web.ttwid.TtwidPool` (else the client makes
            its own, minting through ``web_proxy``).
        web_budget: the :class:`~fastlive.web.budget.WebBudget` of this client's egress,
            which every web request (pages, API, ttwid mints) draws from; the Monitor
            shares one.  None: the client makes its own from ``Settings.web_rate``.

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
        overflow: Overflow = "block",
        logger: logging.Logger | None = None,
        connect: str | ConnectMode | None = None,
        ws_url: str | None = None,
        sign_limiter: SignPacer | None = None,
        ttwid_pool: TtwidPool | None = None,
        web_budget: WebBudget | None = None,
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
        elif overrides:
            for name in ("web_url", "webcast_url", "sign_api_url"):
                if name in overrides:
                    overrides[name] = overrides[name].rstrip("/")
            if "sign_api_url" in overrides:
                overrides["sign_api_url_chosen"] = True
            settings = msgspec.structs.replace(settings, **overrides)
        check_overflow(overflow, max_queue)
        self._settings = settings
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
        self._overflow: Overflow = overflow

        self._owns_http = http is None
        if http is not None and web_proxy is not None:
            raise ValueError("pass the proxy to your own AsyncClient, or do not pass http=")
        self._web_proxy = _proxy_url(web_proxy)
        self._http = http or make_http_client(settings, self._web_proxy)
        web_options = dict(web_kwargs or {})
        if web_options.get("budget") is None:
            web_options["budget"] = web_budget or WebBudget.from_settings(settings)
        self._web = TikTokWeb(settings, http=self._http, **web_options)
        if session_id:
            self._web.set_session(session_id, tt_target_idc)
        self._signer = SignClient(settings, self._http)
        self._sign_limiter = sign_limiter

        self.stats = RoomStats()
        self._dispatcher = Dispatcher(self._logger, self.stats, max_queue, overflow)
        self._frames = FrameTap(self._logger)
        self._state = RoomState.IDLE
        self._state_listeners: list[StateListener] = []
        self._runner = Runner(self, ttwid_pool)
        self._task: asyncio.Task[None] | None = None
        self._starting = False
        self._run_error: BaseException | None = None
        self._session: Session | None = None

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
        connection = self._runner.connection
        return connection is not None and connection.ws is not None

    @property
    def running(self) -> bool:
        """True from ``start()`` until the final ``DisconnectEvent``."""
        return self._starting or (self._task is not None and not self._task.done())

    @property
    def web_priority(self) -> Priority:
        """The web budget priority of this client's connect requests (the Monitor sets
        ``Priority.RECONNECT`` for a room that was streaming: it goes first)."""
        return self._runner.priority

    @web_priority.setter
    def web_priority(self, value: Priority) -> None:
        self._runner.priority = Priority(value)

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
        return self._runner.mode

    @property
    def connect_stats(self) -> SupervisorStats:
        """Attempts, mode switches, DEVICE_BLOCKED answers, ttwid mints and misses of
        the current (or last) run."""
        supervisor = self._runner.supervisor
        return SupervisorStats() if supervisor is None else supervisor.stats

    @property
    def signer_configured(self) -> bool:
        """True when a sign server is configured (an API key, or ``SIGN_API_URL``):
        only then does ``auto`` fall back to signed connections."""
        return self._settings.signer_configured

    @property
    def state(self) -> RoomState:
        """Where the room stands: IDLE, CONNECTING, LIVE, BACKING_OFF, ENDED or FAILED."""
        return self._state

    @property
    def queued_events(self) -> int:
        """Events waiting for their handlers (at most ``max_queue``)."""
        return self._dispatcher.queued

    @property
    def overflow(self) -> Overflow:
        """What a full queue does: ``"block"`` or ``"drop_oldest"``."""
        return self._overflow

    # -- state and frame listeners -------------------------------------------

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
        self._frames.listeners.append(callback)
        return callback

    def remove_frame_listener(self, callback: FrameListener) -> None:
        """Remove one registration of ``callback`` (``ValueError`` if absent)."""
        self._frames.listeners.remove(callback)

    async def _deliver(self, events: list[Any]) -> None:
        """Count and dispatch the events the session released (a subclass may add its own)."""
        await self._dispatcher.deliver(events)

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

    # -- event handlers, streams and sinks -----------------------------------

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
        """Call ``f(event)`` for every event of type ``event`` or a subclass; sync or async.

        Handlers see events in arrival order; an async one is awaited before the
        next event's handlers run (see ``max_queue`` and ``overflow``).
        """
        return self._dispatcher.handlers.add(event, f)

    def remove_listener(self, event: type, f: Handler) -> None:
        """Remove one registration of ``f`` for ``event`` (``ValueError`` if absent)."""
        self._dispatcher.handlers.remove(event, f)

    def remove_all_listeners(self, event: type | None = None) -> None:
        """Remove every handler of ``event``, or of all events."""
        self._dispatcher.handlers.clear(event)

    def has_listener(self, event: type) -> bool:
        """True when a handler is registered for exactly this event class."""
        return self._dispatcher.handlers.has(event)

    def listeners(self, event: type) -> list[Handler]:
        """The handlers registered for exactly this event class."""
        return self._dispatcher.handlers.get(event)

    def events(
        self,
        *,
        max_queue: int | None = None,
        overflow: Overflow | None = None,
        **start_kwargs: Any,
    ) -> EventStream:
        """Iterate over every event until the client disconnects.

        ``async for event in client.events(): ...`` starts the client if it is
        not running (``start_kwargs`` go to ``start()``) and stops it when the
        loop is left.  Iterators made while the client runs just observe it.
        ``max_queue`` and ``overflow`` default to the client's.
        """
        stream = EventStream(
            self,
            max_queue or self._max_queue,
            start_kwargs,
            overflow or self._overflow,
            self.stats,
        )
        self._dispatcher.streams.add(stream)
        return stream

    def add_event_sink(self, sink: Callable[[Any], Awaitable[None]]) -> None:
        """Await ``sink(event)`` for every event, in order, before reading on.

        For consumers that forward events elsewhere (the Monitor does): one await per
        event and no queue of the client's in between; a slow sink holds the socket
        reader back, as a full ``events()`` iterator does.  An exception in the sink
        is logged and the connection goes on.
        """
        self._dispatcher.sinks.append(sink)

    def remove_event_sink(self, sink: Callable[[Any], Awaitable[None]]) -> None:
        """Stop calling ``sink`` (``ValueError`` if it was not added)."""
        self._dispatcher.sinks.remove(sink)

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
        self._run_error = None
        self._set_state(RoomState.CONNECTING)
        runner = self._runner
        try:
            signed = await runner.prepare(
                room_id, fetch_room_info, fetch_gift_info, fetch_live_check
            )
        except BaseException:
            self._set_state(RoomState.FAILED)
            raise
        finally:
            self._starting = False
        assert runner.supervisor is not None and self._room_id is not None
        self._session = Session(
            self._room_id,
            unique_id=self._unique_id,
            dedup_window=self._settings.dedup_window,
            max_inflated_size=self._settings.max_inflated_size,
            direct=runner.supervisor.mode is ConnectMode.DIRECT,
        )
        self._task = asyncio.get_running_loop().create_task(
            runner.run(self._session, signed, process_connect_events, fetch_live_check),
            name=f"fastlive:{self._unique_id or self._room_id}",
        )
        return self._task

    async def resolve_room_id(self) -> int:
        """The room id: the one given, the one known, or looked up from the handle."""
        if self._room_id:
            return self._room_id
        if self._room_id_override:
            return int(self._room_id_override)
        self._room_id = int(await self._web.fetch_room_id(self._unique_id))
        return self._room_id

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
        """Close the websocket, stop reconnecting, and wait for the final ``DisconnectEvent``
        (its handlers and those of every event before it have run then).

        Safe to call from a handler (it then does not wait for itself).
        """
        await self._runner.stop()
        task = self._task
        current = asyncio.current_task()
        if task is not None and current is not task and current is not self._dispatcher.worker:
            with contextlib.suppress(BaseException):
                await asyncio.shield(task)
        if close_client:
            await self.aclose()

    async def aclose(self) -> None:
        """Release the HTTP client, the ttwid minter (when this client made them) and the
        handlers' task."""
        if self.running:
            await self.disconnect()
        await self._dispatcher.close()
        await self._runner.aclose()
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
            return await self._web.fetch_is_live(room_id=self._room_id)
        return await self._web.fetch_is_live(unique_id=unique_id or self._unique_id)

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


def _proxy_url(proxy: str | httpx.Proxy | None) -> str | None:
    """A proxy URL string from a string or an ``httpx.Proxy`` (credentials kept)."""
    if proxy is None or isinstance(proxy, str):
        return proxy
    url = proxy.url
    if proxy.auth:
        user, password = proxy.auth
        url = url.copy_with(username=user, password=password)
    return str(url)
