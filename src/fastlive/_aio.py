"""asyncio helpers shared by the client, the Monitor, the CLI and the sign limiter."""

from __future__ import annotations

import asyncio
from collections.abc import Coroutine
from typing import Any, TypeVar

T = TypeVar("T")

__all__ = ["run", "wait_event"]


async def wait_event(event: asyncio.Event, timeout: float | None) -> bool:
    """Wait until ``event`` is set or ``timeout`` seconds pass; True if it is set.

    Use it instead of ``asyncio.wait_for(event.wait(), timeout)``: on Python
    3.11, ``wait_for`` returns normally when a cancel arrives in the same loop
    iteration as the event, so the cancel is lost.  Here a cancel always raises
    ``CancelledError``.
    """
    if event.is_set():
        return True
    waiter = asyncio.ensure_future(event.wait())
    try:
        done, _ = await asyncio.wait((waiter,), timeout=timeout)
    finally:
        waiter.cancel()
    return bool(done) or event.is_set()


def run(main: Coroutine[Any, Any, T]) -> T:
    """Run ``main`` to completion on a new loop: uvloop where installed, asyncio otherwise."""
    try:
        import uvloop
    except ImportError:  # pragma: no cover - uvloop is a dependency off Windows
        return asyncio.run(main)
    return uvloop.run(main)
