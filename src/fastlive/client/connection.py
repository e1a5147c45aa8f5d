"""One websocket to a room: open it, pump it into the session, keep it alive, say how it ended.

The pump is mechanical (the websockets model): each message is fed to the
:class:`~fastlive.session.Session`, the frames it wants sent are queued, and
the events it released are delivered (to the dispatcher, whose back-pressure
holds the reader).  The clocks live here: the heartbeat and the stall watchdog.

Outgoing frames (acks, heartbeats, the join) are coalesced: those queued in one
loop iteration go out in one write (``writelines``: one ``writev``), each still its
own websocket message, in order, without a drain per message (they are tiny, and
only sent in answer to what the server sent).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Awaitable, Callable
from typing import Any

from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import ConnectionClosed
from websockets.protocol import State

from fastlive._config import DEFAULT_CLOSE_TIMEOUT, Settings
from fastlive.client.dispatch import FrameTap
from fastlive.client.errors import OPEN_ERRORS, Ended, open_failed, socket_end
from fastlive.session import FRAME, SENT, Session, parse_handshake_options
from fastlive.stats import RoomStats
from fastlive.supervisor import Outcome
from fastlive.web import safe_url

__all__ = ["WS_MAX_QUEUE", "WS_WRITE_LIMIT", "Connection"]

WS_MAX_QUEUE = 4
"""Frames received and not yet read before the socket stops reading (websockets: 16)."""
WS_WRITE_LIMIT = 4096
"""Bytes of unsent output before a send waits (websockets: 32 KiB); acks are ~60 bytes."""


class Connection:
    """One websocket of a client run, from the upgrade to the close.

    ``serve()`` opens the socket and pumps it until it closes, stalls or the
    stream ends, and returns an :class:`~fastlive.client.errors.Ended` for the
    supervisor; it raises only on cancellation.  ``ws`` is the open socket, or None.
    """

    def __init__(
        self,
        settings: Settings,
        session: Session,
        deliver: Callable[[list[Any]], Awaitable[None]],
        frames: FrameTap,
        stats: RoomStats,
        logger: logging.Logger,
        *,
        ws_proxy: str | None,
        ws_kwargs: dict[str, Any],
        on_live: Any,
    ) -> None:
        self._settings = settings
        self._session = session
        self._deliver = deliver
        self._frames = frames
        self._stats = stats
        self._logger = logger
        self._ws_proxy = ws_proxy
        self._ws_kwargs = ws_kwargs
        self._on_live = on_live
        self.ws: ClientConnection | None = None
        self._stalled = False
        self._busy = False  # a message is being handled: silence is not a stall
        self._last_rx = 0.0
        self._dup_mark = session.duplicates_dropped
        self._outbox: list[bytes] = []
        self._flush_handle: asyncio.Handle | None = None
        self.writes = 0
        """Socket writes of outgoing frames (one per loop iteration with frames to send)."""

    def _options(self, headers: dict[str, str]) -> dict[str, Any]:
        settings = self._settings
        options: dict[str, Any] = {
            "additional_headers": headers,
            "user_agent_header": None,
            "ping_interval": None,  # TikTok does not answer websocket pings
            "ping_timeout": None,
            "open_timeout": settings.ws_connect_timeout,
            "close_timeout": min(settings.ws_connect_timeout, DEFAULT_CLOSE_TIMEOUT),
            "max_size": settings.max_inflated_size,
            "compression": None,
            # TikTok's frames are small and come a few a second: buffer few of them
            "max_queue": WS_MAX_QUEUE,
            "write_limit": WS_WRITE_LIMIT,
        }
        if self._ws_proxy is not None:
            options["proxy"] = self._ws_proxy
        options["logger"] = _NoDebugLogger(logging.getLogger("websockets.client"), {})
        options.update(self._ws_kwargs)
        return options

    async def serve(
        self, url: str, headers: dict[str, str], initial: Any, *, direct: bool
    ) -> Ended:
        """Open the websocket and pump it until it closes; say how it ended."""
        session = self._session
        room_id = session.room_id
        target = safe_url(url)  # a signed query carries signatures: never logged
        mode = "direct" if direct else "signed"
        self._logger.debug("room %s: opening %s websocket to %s", room_id, mode, target)
        try:
            ws = await connect(url, **self._options(headers))
        except OPEN_ERRORS as exc:
            return open_failed(exc, url, target, direct=direct)

        loop = asyncio.get_running_loop()
        stats = self._stats
        frames = self._frames
        deliver = self._deliver
        perf = time.perf_counter_ns
        self.ws = ws
        timer: asyncio.Task[None] | None = None
        try:
            interval = self._settings.heartbeat_interval
            if not direct:
                handshake = parse_handshake_options(
                    ws.response.headers.get("Handshake-Options", "")
                )
                interval = _positive_float(handshake.get("ping-interval")) or interval
            self._logger.info(
                "room %s: connected, %s (heartbeat every %g s)", room_id, mode, interval
            )
            self._on_live()
            session.opened()
            if initial is not None:
                session.receive_initial(initial)
            self._post(ws, session.data_to_send())
            self._count_duplicates()  # the initial batch's
            self._last_rx = loop.time()
            timer = loop.create_task(self._keepalive(ws, interval, direct))
            await deliver(session.events_received())
            if session.ended:
                return Ended(Outcome.STREAM_ENDED, "the stream ended")
            async for data in ws:
                self._busy = True
                if type(data) is not bytes:
                    data = bytes(data, "utf-8") if isinstance(data, str) else bytes(data)
                if frames.listeners:
                    frames(FRAME, data)
                started = perf()
                session.receive(data)
                stats.decode_ns += perf() - started
                stats.frames += 1
                stats.bytes += len(data)
                if session.duplicates_dropped != self._dup_mark:
                    self._count_duplicates()
                out = session.data_to_send()
                if out:
                    self._post(ws, out)
                events = session.events_received()
                if events:
                    await deliver(events)
                if session.ended:
                    return Ended(Outcome.STREAM_ENDED, "the stream ended")
                self._last_rx = loop.time()  # silence counts from when we wait again
                self._busy = False
            return self._end(ws)
        except ConnectionClosed:
            return self._end(ws)
        finally:
            self._flush(ws)  # the last acks go out before the close
            self.ws = None
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

    async def close(self) -> None:
        """Close the socket, if open (the pump then ends as the server's close arrives)."""
        ws = self.ws
        if ws is not None:
            with contextlib.suppress(Exception):
                await ws.close()

    def _end(self, ws: ClientConnection) -> Ended:
        return socket_end(ws, self._stalled, self._settings.stall_timeout, self._last_rx)

    def _count_duplicates(self) -> None:
        dropped = self._session.duplicates_dropped
        if dropped != self._dup_mark:
            self._stats.duplicates += dropped - self._dup_mark
            self._dup_mark = dropped

    async def _keepalive(self, ws: ClientConnection, interval: float, direct: bool) -> None:
        """Send heartbeats every ``interval`` s; abort the socket after ``stall_timeout`` s silent.

        Silence counts only while the reader waits on the socket: a slow handler or a full
        ``events()`` queue is not a stall.  A direct socket got its first heartbeat on
        open, so the next one is due an interval later.
        """
        loop = asyncio.get_running_loop()
        session = self._session
        stall = self._settings.stall_timeout
        next_hb = loop.time() + (interval if direct else 0.0)
        try:
            while True:
                now = loop.time()
                stall_at = now + stall if self._busy else self._last_rx + stall
                if now >= stall_at:
                    self._stalled = True
                    self._logger.warning(
                        "room %s: no data for %g s, dropping the socket", session.room_id, stall
                    )
                    ws.transport.abort()
                    return
                if now >= next_hb:
                    session.heartbeat()
                    self._post(ws, session.data_to_send())
                    next_hb = now + interval
                await asyncio.sleep(max(min(next_hb, stall_at) - loop.time(), 0))
        except ConnectionClosed:
            return

    def _post(self, ws: ClientConnection, frames: list[bytes]) -> None:
        """Queue frames for the write at the end of this loop iteration."""
        if not frames:
            return
        self._outbox.extend(frames)
        if self._flush_handle is None:
            self._flush_handle = asyncio.get_running_loop().call_soon(self._flush, ws)

    def _flush(self, ws: ClientConnection) -> None:
        """Write the queued frames, each its own websocket message, in one ``writelines``.

        Each frame goes to the frame listeners once written.  A socket no longer open
        takes nothing (its buffered input still has to be read, so the reader, not the
        writer, notices the end).
        """
        if self._flush_handle is not None:
            self._flush_handle.cancel()
            self._flush_handle = None
        frames, self._outbox = self._outbox, []
        if not frames or ws.protocol.state is not State.OPEN or ws.transport.is_closing():
            return
        protocol = ws.protocol
        for frame in frames:
            protocol.send_binary(frame)
        chunks = protocol.data_to_send()
        try:
            ws.transport.writelines([c for c in chunks if c])
        except (OSError, RuntimeError):  # the transport went away meanwhile: the reader sees it
            return
        self.writes += 1
        tap = self._frames
        if tap.listeners:
            for frame in frames:
                tap(SENT, frame)


class _NoDebugLogger(logging.LoggerAdapter):
    """websockets' DEBUG log prints the upgrade headers, cookies included: keep it off."""

    def isEnabledFor(self, level: int) -> bool:
        return level > logging.DEBUG and self.logger.isEnabledFor(level)


def _positive_float(value: str | None) -> float | None:
    """A positive number from a header value, or None (missing, zero or garbage)."""
    try:
        number = float(value) if value else None
    except ValueError:
        return None
    return number if number and number > 0 else None
