"""One room's life in a Monitor: resolve, wait for live, connect, back off, repeat.

:func:`run_room` is the task the Monitor starts per room.  It looks a handle's
room id up (again every ``resolve_interval`` while it waits), waits for the
poller to find the room live, runs one :class:`~fastlive.client.TikTokLiveClient`
per live session (its events reach the Monitor through an event sink), and backs
off with jitter after failures until ``reconnect_attempts`` is spent.  Errors that
no retry can fix (unknown user, age restriction, a refused upgrade, a sign server
that says no) make the room ``FAILED``.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import random
import re
from typing import TYPE_CHECKING, Any

from fastlive._aio import wait_event
from fastlive._config import DEFAULT_BACKOFF_JITTER
from fastlive.client import TikTokLiveClient
from fastlive.exceptions import (
    AgeRestrictedError,
    ConnectError,
    RateLimitedError,
    SignAPIError,
    SignatureRateLimitError,
    UserNotFoundError,
    UserOfflineError,
    WebcastBlockedError,
    WebError,
)
from fastlive.monitor.rooms import merge_client
from fastlive.record.frames import META, Recorder
from fastlive.session import backoff
from fastlive.stats import RoomState
from fastlive.web.budget import Priority

if TYPE_CHECKING:
    from fastlive.monitor.monitor import Monitor
    from fastlive.monitor.rooms import MonitoredRoom

__all__ = ["run_room"]


async def run_room(monitor: Monitor, room: MonitoredRoom) -> None:
    """Resolve, wait for live, connect, repeat; until removed or FAILED."""
    loop = asyncio.get_running_loop()
    s = monitor.settings
    set_state = monitor._set_state
    failures = 0
    jitter = DEFAULT_BACKOFF_JITTER
    delays = backoff(s.backoff_initial, s.backoff_factor, s.backoff_max, jitter)
    try:
        while True:
            if (
                room.unique_id
                and (
                    room.room_id is None
                    or loop.time() - room._resolved_at >= monitor.resolve_interval
                )
                and not await _resolve(monitor, room)
            ):
                return
            if room.room_id is None:
                set_state(room, RoomState.WAITING)
                await asyncio.sleep(monitor.resolve_interval * random.uniform(1.0, 1.2))
                continue
            set_state(room, RoomState.WAITING)
            room._live.clear()
            if not await wait_event(room._live, _wait_budget(monitor, room, loop)):
                continue  # time to look the handle up again
            set_state(room, RoomState.CONNECTING)
            try:
                await _live_session(monitor, room)
            except UserOfflineError:
                continue  # went offline between the check and the connect
            except (UserNotFoundError, AgeRestrictedError, WebcastBlockedError) as exc:
                set_state(room, RoomState.FAILED, exc)
                return
            except SignAPIError as exc:
                if not _retryable_sign(exc):
                    set_state(room, RoomState.FAILED, exc)
                    return
                failures += 1
                room.error = exc
            except (ConnectError, WebError, OSError, TimeoutError, asyncio.TimeoutError) as exc:
                failures += 1
                room.error = exc
            else:
                failures = 0
                delays = backoff(s.backoff_initial, s.backoff_factor, s.backoff_max, jitter)
                continue
            if failures > s.reconnect_attempts:
                set_state(room, RoomState.FAILED, room.error)
                return
            delay = next(delays)
            if isinstance(room.error, (SignatureRateLimitError, RateLimitedError)):
                delay = max(delay, room.error.retry_after or 0.0)
            set_state(room, RoomState.BACKING_OFF, room.error)
            await asyncio.sleep(delay)
    except asyncio.CancelledError:
        raise
    except Exception as exc:
        monitor._logger.exception("room %s: monitor task failed", room.name)
        set_state(room, RoomState.FAILED, exc)


def _wait_budget(
    monitor: Monitor, room: MonitoredRoom, loop: asyncio.AbstractEventLoop
) -> float | None:
    """How long to wait for live before the handle's room id is looked up again."""
    if not room.unique_id:
        return None
    left = room._resolved_at + monitor.resolve_interval - loop.time()
    return max(left, 0.0) * random.uniform(1.0, 1.2)


async def _resolve(monitor: Monitor, room: MonitoredRoom) -> bool:
    """Look the handle's room id up; False when the room is FAILED for good."""
    assert room.unique_id is not None
    loop = asyncio.get_running_loop()
    try:
        async with monitor._web_slots:
            room.room_id = int(await monitor.web.fetch_room_id(room.unique_id))
        room.error = None
    except UserNotFoundError as exc:
        monitor._set_state(room, RoomState.FAILED, exc)
        return False
    except UserOfflineError as exc:
        room.error = exc  # no room at all yet: look again later
    except (WebError, OSError) as exc:
        room.error = exc
        monitor._logger.warning("room %s: room id look-up failed (%s)", room.name, exc)
    room._resolved_at = loop.time()
    return True


async def _live_session(monitor: Monitor, room: MonitoredRoom) -> None:
    """Connect one client to the live room; its events reach the Monitor through a sink."""
    kwargs: dict[str, Any] = {
        "settings": monitor.settings,
        "http": monitor.http,
        "sign_limiter": monitor.sign_limiter,
        "web_budget": monitor.web_budget,
    }
    kwargs.update(monitor._client_kwargs)
    client = TikTokLiveClient(room.unique_id or str(room.room_id), room_id=room.room_id, **kwargs)
    if room.sessions:  # it was streaming: its reconnect goes before new rooms
        client.web_priority = Priority.RECONNECT
    client._dispatcher.batch_sinks.append(monitor._sink(room))  # one await per frame
    client.add_state_listener(lambda _c, _old, new: _client_state(monitor, room, new))
    if monitor.record_dir is not None:
        _record(monitor, room, client, room.sessions + 1)
    room.client = client
    room._client_stats = client.stats
    try:
        task = await client.start(**monitor._start_kwargs)
        room.sessions += 1
        try:
            await asyncio.shield(task)
        except asyncio.CancelledError:
            if task.done():
                return  # the client's task was cancelled, not ours
            raise
    finally:
        if client.running:
            with contextlib.suppress(BaseException):
                await client.disconnect()
        await monitor._flush_streaks(room)
        if room._client_stats is not None:
            merge_client(room._stats, room._client_stats)
            room._client_stats = None
        room.client = None
    monitor._set_state(room, RoomState.ENDED)


def _client_state(monitor: Monitor, room: MonitoredRoom, new: RoomState) -> None:
    """A running client's own state (when it reports one) becomes the room's."""
    if new in (RoomState.CONNECTING, RoomState.LIVE, RoomState.BACKING_OFF):
        monitor._set_state(room, new)


def _record(monitor: Monitor, room: MonitoredRoom, client: TikTokLiveClient, session: int) -> None:
    """Record the client's raw frames to the room's ``.flrec`` (``record_dir``).

    A META record (room id, handle, fastlive version, connection mode, session
    number) comes before the session's first frame, and again whenever the
    mode changes (``auto`` moving between direct and signed); then every
    frame: the sign server's fetch result, each frame received and sent.
    """
    from fastlive._version import __version__

    record_dir = monitor.record_dir
    assert record_dir is not None
    mode = [""]

    def on_frame(kind: int, data: bytes, time_ns: int) -> None:
        recorder = room._recorder
        if recorder is None:
            record_dir.mkdir(parents=True, exist_ok=True)
            name = re.sub(r"[^\w.-]", "_", room.unique_id or str(room.room_id))
            recorder = room._recorder = Recorder(record_dir / f"{name}.flrec")
        if client.connect_mode != mode[0]:
            mode[0] = client.connect_mode
            meta = {
                "room_id": client.room_id or room.room_id,
                "unique_id": room.unique_id,
                "fastlive": __version__,
                "mode": mode[0],
                "session": session,
            }
            recorder.write(META, json.dumps(meta, sort_keys=True).encode(), time_ns)
        recorder.write(kind, data, time_ns)

    client.add_frame_listener(on_frame)


def _retryable_sign(exc: SignAPIError) -> bool:
    return exc.status is None or exc.status >= 500 or exc.status == 429
