"""The batched live check: one poller per Monitor wakes the waiting rooms that went live.

Every ``interval`` seconds (or soon after a room starts waiting, coalescing the
rooms that start waiting together) the poller asks TikTok which of the waiting
rooms are live, 50 room ids per request (``TikTokWeb.fetch_is_live_many``), and
sets each live room's wake-up event; the room's own task then connects.  A 429
pauses the poller for its ``retry_after``; other failures are logged and retried
at the next interval.  Nothing retries in a tight loop.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Iterable
from typing import TYPE_CHECKING

from fastlive._aio import wait_event
from fastlive._config import DEFAULT_POLL_COALESCE
from fastlive.exceptions import RateLimitedError, WebError
from fastlive.stats import RoomState

if TYPE_CHECKING:
    from fastlive.monitor.rooms import MonitoredRoom
    from fastlive.web import TikTokWeb

__all__ = ["LivePoller"]


class LivePoller:
    """Checks the waiting rooms in batches; wakes those that went live.

    Args:
        web: the Monitor's ``TikTokWeb`` (its budget and pool).
        rooms: returns the rooms to consider (those ``WAITING`` with a room id are checked).
        interval: seconds between two checks.
        logger: where failures are reported.
    """

    def __init__(
        self,
        web: TikTokWeb,
        rooms: Callable[[], Iterable[MonitoredRoom]],
        interval: float,
        logger: logging.Logger,
    ) -> None:
        self._web = web
        self._rooms = rooms
        self.interval = interval
        self._logger = logger
        self._soon = asyncio.Event()
        self.checks = 0
        """Live checks made (one ``check_alive`` request per 50 rooms each)."""

    def wake(self) -> None:
        """A room started waiting: check soon (after the coalescing pause), not at the interval."""
        self._soon.set()

    def waiting(self) -> list[MonitoredRoom]:
        """The rooms the next check covers."""
        return [
            r
            for r in self._rooms()
            if r.state is RoomState.WAITING and r.room_id is not None and not r._live.is_set()
        ]

    async def run(self) -> None:
        """Check until cancelled."""
        pause = 0.0
        while True:
            await wait_event(self._soon, self.interval + pause)
            if self._soon.is_set():  # rooms just started waiting: let others join
                await asyncio.sleep(min(DEFAULT_POLL_COALESCE, self.interval))
                self._soon.clear()
            pause = await self.check()

    async def check(self) -> float:
        """One check of the waiting rooms; returns the extra pause a 429 asked for."""
        waiting = self.waiting()
        if not waiting:
            return 0.0
        self.checks += 1
        try:
            alive = await self._web.fetch_is_live_many([r.room_id for r in waiting])
        except RateLimitedError as exc:
            pause = exc.retry_after or self.interval
            self._logger.warning("live check rate-limited: next one in %.0f s", pause)
            return pause
        except (WebError, OSError) as exc:
            self._logger.warning("live check failed (%s); retrying", exc)
            return 0.0
        for room, live in zip(waiting, alive):
            if live and room.state is RoomState.WAITING:
                room._live.set()
        return 0.0
