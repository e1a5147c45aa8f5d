"""Gift streak aggregation: one final ``GiftStreakEvent`` per streak (sans-I/O).

A streakable gift (``gift.type == 1``) arrives as a run of ``GiftEvent``
messages while the viewer keeps tapping, ``repeat_count`` growing, and ends
with one whose ``repeat_end`` is set (protocol.md §5).  :class:`StreakTracker`
folds such a run into one :class:`~fastlive.events.GiftStreakEvent` with the
total count and diamond value.  When the end message never comes (a dropped
socket, a lost frame), the streak is closed after ``timeout`` seconds without
news, marked ``timed_out``.  A gift that does not streak passes through at once.

Streaks are keyed ``(user.id, gift_id, group_id)``: one viewer can run two
streaks of different gifts at once.  The tracker owns no clock: ``now`` is
passed in, so every rule is testable with plain events.

    tracker = StreakTracker(timeout=10.0)
    final = tracker.feed(gift_event, now=loop.time())   # a GiftStreakEvent or None
    for final in tracker.expire(now=loop.time()):       # call every second or so
        ...
"""

from __future__ import annotations

from fastlive.events import GiftEvent, GiftStreakEvent

__all__ = ["DEFAULT_MAX_STREAKS", "DEFAULT_STREAK_TIMEOUT", "StreakTracker"]

DEFAULT_STREAK_TIMEOUT = 10.0
"""Seconds without a message after which an open streak is closed as ``timed_out``."""
DEFAULT_MAX_STREAKS = 10_000
"""Open streaks kept at most; past that the oldest is closed (``timed_out``) early."""

StreakKey = tuple[int, int, int]


class _Open:
    """An open streak: its first and latest message, and when it was last heard of."""

    __slots__ = ("count", "first", "last", "messages", "seen")

    def __init__(self, event: GiftEvent, now: float) -> None:
        self.first = event
        self.last = event
        self.messages = 1
        self.count = event.repeat_count
        self.seen = now

    def add(self, event: GiftEvent, now: float) -> None:
        self.last = event
        self.messages += 1
        self.count = max(self.count, event.repeat_count)
        self.seen = now

    def final(self, timed_out: bool) -> GiftStreakEvent:
        return _final(self.first, self.last, self.count, self.messages, timed_out)


def _final(
    first: GiftEvent, last: GiftEvent, count: int, messages: int, timed_out: bool
) -> GiftStreakEvent:
    count = max(count, 1)
    gift = last.gift or first.gift
    diamonds = gift.diamond_count * count if gift is not None else 0
    return GiftStreakEvent(
        room_id=last.room_id,
        msg_id=last.msg_id,
        user=last.user or first.user,
        to_user=last.to_user or first.to_user,
        gift_id=last.gift_id,
        gift=gift,
        group_id=last.group_id,
        count=count,
        diamonds=diamonds,
        messages=messages,
        first_time=first.create_time,
        last_time=last.create_time,
        timed_out=timed_out,
    )


class StreakTracker:
    """Open gift streaks of one room, closed by their end message or a timeout.

    Args:
        timeout: seconds without a message before an open streak is closed.
        max_streaks: open streaks kept at most (the oldest is closed first).
    """

    def __init__(
        self, timeout: float = DEFAULT_STREAK_TIMEOUT, max_streaks: int = DEFAULT_MAX_STREAKS
    ) -> None:
        if timeout <= 0:
            raise ValueError("timeout must be positive")
        if max_streaks < 1:
            raise ValueError("max_streaks must be at least 1")
        self.timeout = timeout
        self.max_streaks = max_streaks
        self._open: dict[StreakKey, _Open] = {}  # insertion order = order last heard of

    def __len__(self) -> int:
        """Streaks open now."""
        return len(self._open)

    def feed(self, event: GiftEvent, now: float) -> GiftStreakEvent | None:
        """Take one gift message; return the final event if it closes a streak (or never
        streaks), None while the streak goes on.  Call ``expire`` for what this evicts."""
        gift = event.gift
        if gift is None or gift.type != 1:
            return _final(event, event, event.repeat_count, 1, False)
        user = event.user
        key = (user.id if user is not None else 0, event.gift_id, event.group_id)
        streak = self._open.pop(key, None)
        if event.repeat_end:
            if streak is None:
                return _final(event, event, event.repeat_count, 1, False)
            streak.add(event, now)
            return streak.final(False)
        if streak is None:
            streak = _Open(event, now)
        else:
            streak.add(event, now)
        self._open[key] = streak  # re-inserted: the dict stays ordered by last news
        return None

    def expire(self, now: float) -> list[GiftStreakEvent]:
        """Close streaks not heard of for ``timeout`` seconds (and any over ``max_streaks``)."""
        out: list[GiftStreakEvent] = []
        deadline = now - self.timeout
        opened = self._open
        while opened:
            key = next(iter(opened))
            streak = opened[key]
            if streak.seen > deadline and len(opened) <= self.max_streaks:
                break
            del opened[key]
            out.append(streak.final(True))
        return out

    def next_expiry(self) -> float | None:
        """When the oldest open streak times out (in ``now``'s clock), None when none is open."""
        if not self._open:
            return None
        return next(iter(self._open.values())).seen + self.timeout

    def flush(self) -> list[GiftStreakEvent]:
        """Close every open streak now (``timed_out``): the room disconnected."""
        out = [streak.final(True) for streak in self._open.values()]
        self._open.clear()
        return out
