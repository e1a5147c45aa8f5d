"""A virtual clock for pacing tests: ``sleep()`` wakes sleepers in the order of their
deadlines, moving the clock to each, once the traffic in flight has been answered.

Minutes of pacing take milliseconds, and nothing is timed on the wall clock.  A
``settled`` predicate (e.g. "every request granted has reached the fake") makes the
clock wait before it moves, so a server on the same clock sees a request at the
virtual time it was sent.
"""

from __future__ import annotations

import asyncio
import heapq
import itertools
from collections.abc import Callable


class VirtualTime:
    def __init__(self, start: float = 1000.0) -> None:
        self.now = start
        self.settled: Callable[[], bool] = lambda: True
        self._heap: list[tuple[float, int, asyncio.Future[None]]] = []
        self._seq = itertools.count()
        self._runner: asyncio.Task[None] | None = None

    def __call__(self) -> float:
        return self.now

    async def sleep(self, seconds: float) -> None:
        future: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        heapq.heappush(self._heap, (self.now + max(0.0, seconds), next(self._seq), future))
        if self._runner is None or self._runner.done():
            self._runner = asyncio.create_task(self._run())
        try:
            await future
        finally:
            if not future.done():
                future.cancel()  # skipped when its turn comes

    async def _run(self) -> None:
        while self._heap:
            for _ in range(2000):  # hang guard: traffic that never settles
                if self.settled():
                    break
                await asyncio.sleep(0.001)
            await asyncio.sleep(0.005)  # answers reach their callers; new sleepers join
            if not self._heap:
                break
            target, _, future = heapq.heappop(self._heap)
            if future.done():
                continue
            self.now = max(self.now, target)
            future.set_result(None)
            await asyncio.sleep(0)
