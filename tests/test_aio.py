"""``fastlive._aio.wait_event``: an event wait with a timeout that never loses a cancel."""

from __future__ import annotations

import asyncio

import pytest

from fastlive._aio import wait_event


async def test_set_timeout_and_already_set():
    event = asyncio.Event()
    asyncio.get_running_loop().call_later(0.01, event.set)
    assert await wait_event(event, 2.0) is True
    assert await wait_event(event, 0) is True  # already set: no wait
    assert await wait_event(asyncio.Event(), 0.01) is False


async def test_a_cancel_in_the_same_iteration_as_the_event_is_not_lost():
    """Python 3.11's ``wait_for(event.wait(), t)`` returns normally here."""
    event = asyncio.Event()
    waiter = asyncio.ensure_future(wait_event(event, 10.0))
    await asyncio.sleep(0.01)  # waiting now
    event.set()
    waiter.cancel()
    with pytest.raises(asyncio.CancelledError):
        await waiter
    assert waiter.cancelled()
