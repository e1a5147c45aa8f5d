"""One client run: the room lookup, the modes (direct, signed, auto), the retries.

The :class:`Runner` is the I/O half of :class:`fastlive.supervisor.Supervisor`:
it makes each attempt, tells the supervisor how it ended, and sleeps the delay
it is given.  It reads the client's configuration and keeps the run's own state.

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
"""

from __future__ import annotations

import asyncio
import contextlib
from typing import TYPE_CHECKING, Any

from fastlive._aio import wait_event
from fastlive._config import DEFAULT_USER_AGENT
from fastlive.client.connection import Connection
from fastlive.client.errors import Ended, refusal, retryable_sign_error
from fastlive.events import DisconnectEvent, ErrorEvent, ReconnectEvent
from fastlive.exceptions import (
    ConnectError,
    RateLimitedError,
    SignAPIError,
    SignatureRateLimitError,
    TikTokBlockedError,
    TtwidMissingError,
    UserOfflineError,
    WafBlockedError,
    WebError,
)
from fastlive.session import FETCH, Session
from fastlive.stats import RoomState
from fastlive.supervisor import Action, ConnectMode, Outcome, Supervisor
from fastlive.web.budget import Priority
from fastlive.web.direct import build_direct_ws_url, direct_handshake_headers, fetch_direct_room
from fastlive.web.signer import SignedFetch
from fastlive.web.ttwid import TtwidMinter, TtwidPool, TtwidSession

if TYPE_CHECKING:
    from fastlive.client.client import TikTokLiveClient

__all__ = ["Runner"]

DIRECT = ConnectMode.DIRECT
SIGNED = ConnectMode.SIGNED

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


class Runner:
    """Connects one client's room and keeps it connected, by the supervisor's rules."""

    def __init__(self, client: TikTokLiveClient, ttwid_pool: TtwidPool | None) -> None:
        self._client = client
        settings = client.settings
        self.mode = SIGNED.value if settings.connect == SIGNED.value else DIRECT.value
        """``"direct"`` or ``"signed"``: the mode of the current (or next) attempt."""
        self.supervisor: Supervisor | None = None
        self.connection: Connection | None = None
        self._stop: asyncio.Event | None = None
        self._ttwid_pool = ttwid_pool
        self._owns_pool = ttwid_pool is None
        self._ttwid: TtwidSession | None = None
        self.priority = Priority.CONNECT
        """The web budget priority of this run's requests (the Monitor sets ``RECONNECT``
        for a room that was streaming)."""

    @property
    def stopping(self) -> bool:
        return self._stop is not None and self._stop.is_set()

    async def stop(self) -> None:
        """Stop reconnecting and close the socket (``disconnect()``)."""
        if self._stop is not None:
            self._stop.set()
        if self.connection is not None:
            await self.connection.close()

    async def aclose(self) -> None:
        """Close this client's own ttwid minter, if it made one."""
        if self._owns_pool and self._ttwid_pool is not None:
            await self._ttwid_pool.minter.aclose()

    # -- before the websocket ------------------------------------------------------------------

    async def prepare(
        self,
        room_id: int | None,
        fetch_room_info: bool,
        fetch_gift_info: bool,
        fetch_live_check: bool,
    ) -> SignedFetch | None:
        """Everything before the websocket: room id, live check, room info, gifts, and
        in signed mode the signature."""
        client = self._client
        web = client._web
        self._stop = asyncio.Event()
        self.supervisor = supervisor = self._new_supervisor()
        self.mode = supervisor.mode.value
        room = room_id or client._room_id_override
        checked = False
        if supervisor.mode is DIRECT and not room:
            try:
                found = await fetch_direct_room(
                    client._http,
                    client.settings.web_url,
                    client.unique_id,
                    user_agent=web.user_agent,
                    budget=web.budget,
                    priority=self.priority,
                )
            except (TikTokBlockedError, RateLimitedError) as exc:
                if isinstance(exc, RateLimitedError):
                    client.stats.rate_limited += 1
                if not supervisor.lookup_refused(asyncio.get_running_loop().time()):
                    raise
                client.logger.warning(
                    "@%s: the direct room lookup failed (%s); using the sign server",
                    client.unique_id,
                    exc,
                )
                client.stats.mode_switches += 1
                self.mode = SIGNED.value
            else:
                if not found.room_id or (fetch_live_check and not found.live):
                    raise UserOfflineError(client.unique_id)
                room, checked = found.room_id, True
        if room:
            client._room_id = int(room)
        else:
            client._room_id = int(await web.fetch_room_id(client.unique_id, priority=self.priority))
        web.room_id = client._room_id  # client.web.fetch_room_info() without arguments
        if (
            fetch_live_check
            and not checked
            and not await web.fetch_is_live(room_id=client._room_id, priority=self.priority)
        ):
            raise UserOfflineError(client.unique_id)
        if fetch_room_info:
            client._room_info = await web.fetch_room_info(client._room_id)
        if fetch_gift_info:
            client._gift_info = await web.fetch_gift_list()
        if supervisor.mode is DIRECT:
            return None
        return await self.sign(attempts=client.settings.reconnect_attempts)

    def _new_supervisor(self) -> Supervisor:
        s = self._client.settings
        return Supervisor(
            s.connect,
            signer_configured=self._client.signer_configured,
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
            client = self._client
            s = client.settings
            minter = TtwidMinter(s, proxy=client._web_proxy, budget=client._web.budget)
            pinned = s.user_agent if s.user_agent != DEFAULT_USER_AGENT else None
            self._ttwid_pool = TtwidPool(s.ttwid_share_cap, minter, user_agent=pinned)
        return self._ttwid_pool

    async def sign(self, attempts: int) -> SignedFetch:
        """Fetch a signature, waiting out rate limits (``retry_after``) up to ``attempts`` times."""
        client = self._client
        tries = 0
        limiter = client._sign_limiter
        authenticated = client._authenticate_ws
        while True:
            if limiter is not None:
                await limiter.acquire()
            try:
                signed = await client._signer.fetch(
                    client._room_id,
                    user_agent=client._web.user_agent,
                    session_id=client._session_id if authenticated else None,
                    tt_target_idc=client._tt_target_idc if authenticated else None,
                    allow_authenticated=authenticated,
                )
            except SignatureRateLimitError as exc:
                client.stats.rate_limited += 1
                self._advertise(limiter)
                if limiter is not None:
                    limiter.rate_limited(exc.retry_after, exc.reset_time)
                tries += 1
                if tries > attempts or self.stopping:
                    raise
                client.logger.warning(
                    "sign server rate limit for room %s: retrying in %.1f s",
                    client._room_id,
                    exc.retry_after,
                )
                await self._sleep(exc.retry_after)
                continue
            self._advertise(limiter)
            if client._frames.listeners and signed.body:
                client._frames(FETCH, signed.body)
            return signed

    def _advertise(self, limiter: Any) -> None:
        """Hand the limits the sign server advertised on its last answer to the limiter."""
        limits = self._client._signer.limits
        adopt = getattr(limiter, "advertised", None)
        if limits is not None and adopt is not None:
            adopt(*limits)

    async def _sleep(self, delay: float) -> None:
        """Sleep ``delay`` seconds, or less if ``disconnect()`` is called (a cancel that
        comes with the disconnect is not lost, unlike with ``asyncio.wait_for``)."""
        assert self._stop is not None
        await wait_event(self._stop, max(delay, 0.0))

    # -- the supervisor loop -------------------------------------------------------------------

    async def run(
        self,
        session: Session,
        signed: SignedFetch | None,
        process_connect_events: bool,
        fetch_live_check: bool,
    ) -> None:
        """Attempt after attempt until the stream ends, ``disconnect()`` or a give-up."""
        client = self._client
        settings = client.settings
        stats = client.stats
        emit = client._dispatcher.emit
        supervisor = self.supervisor
        assert supervisor is not None
        loop = asyncio.get_running_loop()
        code: int | None = None
        reason = ""
        rotate = False
        first = True
        final = RoomState.ENDED
        cancelled = False
        try:
            while True:
                if self.stopping:
                    reason = "disconnect() called"
                    break
                mode = supervisor.mode
                self.mode = mode.value
                session.direct = mode is DIRECT
                client._set_state(RoomState.CONNECTING)
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
                if self.stopping:
                    reason = "disconnect() called"
                    break
                refused = refusal(ended.error)
                if not settings.reconnect:
                    if refused is not None:
                        raise refused
                    break
                now = loop.time()
                lived = (ended.last_rx if ended.last_rx is not None else now) - started
                decision = supervisor.attempt_ended(ended.outcome, max(lived, 0.0), now)
                if decision.device_blocked:
                    stats.device_blocked += 1
                if decision.switched:
                    stats.mode_switches += 1
                if decision.action is Action.STOP:
                    break
                if decision.action is Action.GIVE_UP:
                    if refused is not None and mode is SIGNED:
                        raise refused
                    raise ConnectError(
                        f"{decision.reason}. Last error: {ended.reason}"
                    ) from ended.error
                if decision.rotate:
                    if decision.mode is DIRECT:
                        rotate = True
                    elif self._ttwid_pool is not None:
                        self._ttwid_pool.discard(self._ttwid, client)
                        self._ttwid = None
                elif decision.switched and decision.mode is SIGNED:
                    if self._ttwid_pool is not None:
                        self._ttwid_pool.release(client)
                    self._ttwid = None
                delay = ended.wait if ended.wait is not None else decision.delay
                why = decision.reason if decision.switched else ended.reason
                stats.reconnects += 1
                client.logger.warning(
                    "room %s: %s; reconnecting %s in %.2f s (attempt %d of %d)",
                    client._room_id,
                    why,
                    decision.mode.value,
                    delay,
                    decision.attempt,
                    decision.max_retries,
                )
                client._set_state(RoomState.BACKING_OFF)
                await emit(ReconnectEvent(attempt=decision.attempt, delay=delay, reason=why))
                await self._sleep(delay)
        except asyncio.CancelledError:
            reason = reason or "cancelled"
            cancelled = True
            raise
        except BaseException as exc:
            final = RoomState.FAILED
            client._run_error = exc
            reason = str(exc)
            client.logger.error("room %s: connection failed: %s", client._room_id, exc)
            await emit(ErrorEvent(error=repr(exc), source="connection", exception=exc))
            raise
        finally:
            self.connection = None
            if self._ttwid_pool is not None:
                self._ttwid_pool.release(client)
                if self._owns_pool:
                    with contextlib.suppress(Exception):
                        await self._ttwid_pool.minter.aclose()
            self._ttwid = None
            client._set_state(final)
            with contextlib.suppress(BaseException):
                await self._finish(code, reason, cancelled)

    async def _finish(self, code: int | None, reason: str, cancelled: bool) -> None:
        """Dispatch the final ``DisconnectEvent``, let the handlers finish, end the streams.

        A cancelled run does not wait for the handler calls still queued: they are dropped.
        """
        dispatcher = self._client._dispatcher
        try:
            if cancelled:
                await dispatcher.close()
            await dispatcher.emit(DisconnectEvent(code=code, reason=reason))
            await dispatcher.drain()
        finally:
            await dispatcher.close()
        for stream in list(dispatcher.streams):
            await stream._end()

    async def _attempt_direct(self, session: Session, rotate: bool, recheck: bool) -> Ended:
        """One direct attempt: a ttwid session from the pool, then the socket (§2.8).

        A reconnect first asks whether the room is still live (``recheck``): a room
        that ended while no socket was open is not joined again and again.
        """
        client = self._client
        settings = client.settings
        if recheck:
            try:
                live = await client._web.fetch_is_live(
                    room_id=client._room_id, priority=Priority.RECONNECT
                )
            except WebError as exc:  # unknown: the socket will tell
                client.logger.debug("room %s: live check failed (%s)", client._room_id, exc)
                live = True
            if not live:
                return Ended(Outcome.STREAM_ENDED, "the stream is no longer live")
        pool = self._pool()
        uid = client.unique_id or None
        newest = max((s.id for s in pool.sessions), default=0)
        try:
            if rotate:
                ttwid = await pool.rotate(pool.session_of(client) or self._ttwid, client, uid)
            else:
                ttwid = await pool.acquire(client, uid)
        except (TtwidMissingError, WafBlockedError) as exc:
            self._ttwid = None
            client.stats.ttwid_misses += 1
            return Ended(Outcome.MINT_FAILED, f"no ttwid cookie: {exc}", error=exc)
        if ttwid.id > newest and ttwid.rooms == {client}:
            client.stats.ttwid_mints += 1
            assert self.supervisor is not None
            self.supervisor.minted()
        self._ttwid = ttwid
        try:
            url = build_direct_ws_url(
                settings.ws_url,
                client._room_id or 0,
                heartbeat_ms=max(1, round(settings.heartbeat_interval * 1000)),
            )
        except ValueError as exc:
            raise ConnectError(f"{exc} (Settings.ws_url, FASTLIVE_WS_URL)") from None
        extra = None
        if client._authenticate_ws and client._session_id:
            extra = {"sessionid": client._session_id}
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
    ) -> Ended:
        """One signed attempt: live check and signature (unless start() did them), then
        the socket (§2.2, §3)."""
        client = self._client
        try:
            if signed is None:
                if fetch_live_check and not await client._web.fetch_is_live(
                    room_id=client._room_id
                ):
                    return Ended(Outcome.STREAM_ENDED, "the stream is no longer live")
                signed = await self.sign(attempts=0)
        except SignatureRateLimitError as exc:
            reason = f"sign server rate limit ({exc})"
            return Ended(Outcome.ERROR, reason, error=exc, wait=exc.retry_after)
        except SignAPIError as exc:
            if retryable_sign_error(exc):
                return Ended(Outcome.ERROR, f"sign server failed ({exc})", error=exc)
            assert self.supervisor is not None
            if not self.supervisor.can_switch:
                raise  # a refusal (bad key, plan): retrying will not help
            return Ended(Outcome.REJECTED, f"sign server refused ({exc})", error=exc)
        except RateLimitedError as exc:
            client.stats.rate_limited += 1
            reason = f"TikTok rate limit ({exc})"
            return Ended(Outcome.ERROR, reason, error=exc, wait=exc.retry_after)
        except WebError as exc:
            return Ended(Outcome.ERROR, f"live check failed ({exc})", error=exc)
        headers = {"User-Agent": signed.user_agent or client._web.user_agent}
        cookie = self._cookie_header(signed)
        if cookie:
            headers["Cookie"] = cookie
        initial = signed.batch if process_initial else None
        return await self._serve(session, signed.ws_url, headers, initial, direct=False)

    async def _serve(
        self, session: Session, url: str, headers: dict[str, str], initial: Any, *, direct: bool
    ) -> Ended:
        client = self._client
        self.connection = connection = Connection(
            client.settings,
            session,
            client._deliver,
            client._frames,
            client.stats,
            client.logger,
            ws_proxy=client._ws_proxy,
            ws_kwargs=client._ws_kwargs,
            on_live=lambda: client._set_state(RoomState.LIVE),
        )
        try:
            return await connection.serve(url, headers, initial, direct=direct)
        finally:
            self.connection = None

    def _cookie_header(self, signed: SignedFetch) -> str:
        """The websocket ``Cookie`` header: the web jar plus the signer's cookies."""
        jar: dict[str, str] = {}
        cookies = self._client._web.cookies
        items = cookies.items() if hasattr(cookies, "items") else cookies
        for name, value in items:
            jar[name] = value
        jar.update(signed.cookies or {})
        if not self._client._authenticate_ws:
            for name in _SESSION_COOKIES:
                jar.pop(name, None)
        return "; ".join(f"{name}={value}" for name, value in jar.items() if value is not None)
