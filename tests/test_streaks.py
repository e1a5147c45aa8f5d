"""Gift streaks folded into one ``GiftStreakEvent``: end message, timeout, pass-through."""

from __future__ import annotations

import pytest

from fastlive import Gift, GiftEvent, GiftStreakEvent, User
from fastlive.streaks import StreakTracker

ROSE = Gift(id=5655, name="Rose", diamond_count=1, type=1)
HEART = Gift(id=5487, name="Finger Heart", diamond_count=5, type=1)
CORGI = Gift(id=6267, name="Corgi", diamond_count=299, type=2)
ALICE = User(id=1, unique_id="alice")
BOB = User(id=2, unique_id="bob")


def g(gift: Gift, user: User, count: int, end: int, msg_id: int, group: int = 7) -> GiftEvent:
    return GiftEvent(
        msg_id=msg_id,
        room_id=99,
        create_time=1000 + msg_id,
        user=user,
        gift_id=gift.id,
        gift=gift,
        repeat_count=count,
        repeat_end=end,
        group_id=group,
    )


def test_a_streak_gives_one_final_event_on_its_end_message():
    t = StreakTracker(timeout=5)
    assert t.feed(g(HEART, ALICE, 1, 0, 1), now=0) is None
    assert t.feed(g(HEART, ALICE, 2, 0, 2), now=1) is None
    final = t.feed(g(HEART, ALICE, 3, 1, 3), now=2)
    assert isinstance(final, GiftStreakEvent)
    assert (final.count, final.diamonds, final.messages, final.timed_out) == (3, 15, 3, False)
    assert (final.msg_id, final.first_time, final.last_time) == (3, 1001, 1003)
    assert final.user == ALICE and final.gift == HEART and final.room_id == 99
    assert len(t) == 0


def test_streaks_are_keyed_by_user_gift_and_group():
    t = StreakTracker(timeout=5)
    t.feed(g(ROSE, ALICE, 1, 0, 1), now=0)
    t.feed(g(ROSE, BOB, 1, 0, 2), now=0)
    t.feed(g(HEART, ALICE, 1, 0, 3), now=0)
    t.feed(g(ROSE, ALICE, 1, 0, 4, group=8), now=0)
    assert len(t) == 4
    final = t.feed(g(ROSE, BOB, 4, 1, 5), now=1)
    assert final is not None and final.user == BOB and final.count == 4 and final.messages == 2
    assert len(t) == 3


def test_a_streak_without_its_end_times_out():
    t = StreakTracker(timeout=5)
    t.feed(g(ROSE, ALICE, 1, 0, 1), now=0)
    t.feed(g(ROSE, ALICE, 6, 0, 2), now=3)
    assert t.expire(now=7) == []  # heard of at 3: not yet
    assert t.next_expiry() == 8
    (final,) = t.expire(now=8.5)
    assert final.timed_out and final.count == 6 and final.diamonds == 6
    assert t.next_expiry() is None


def test_non_streakable_and_lone_end_messages_pass_through():
    t = StreakTracker()
    corgi = t.feed(g(CORGI, ALICE, 1, 0, 1), now=0)
    assert corgi is not None and corgi.diamonds == 299 and not corgi.timed_out
    lone = t.feed(g(ROSE, BOB, 1, 1, 2), now=0)  # only the end arrived
    assert lone is not None and lone.count == 1 and lone.messages == 1
    assert len(t) == 0


def test_flush_and_the_bound_on_open_streaks():
    t = StreakTracker(timeout=60, max_streaks=2)
    for i in range(3):
        t.feed(g(ROSE, User(id=10 + i), 1, 0, i), now=i)
    (evicted,) = t.expire(now=3)  # over the bound: the oldest closes early
    assert evicted.user.id == 10 and evicted.timed_out
    assert [f.user.id for f in t.flush()] == [11, 12]
    with pytest.raises(ValueError):
        StreakTracker(timeout=0)
