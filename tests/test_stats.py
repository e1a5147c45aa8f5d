"""Room counters: merging rooms into totals."""

from collections import Counter

from fastlive.stats import RoomState, RoomStats


def test_merge_sums_counts_and_keeps_latest_time():
    a = RoomStats(
        frames=2,
        bytes=100,
        decode_ns=5,
        events=Counter(CommentEvent=3),
        reconnects=1,
        last_event_time=10.0,
    )
    b = RoomStats(
        frames=1,
        bytes=50,
        decode_ns=7,
        events=Counter(CommentEvent=1, LikeEvent=2),
        rate_limited=4,
        last_event_time=12.5,
    )
    total = RoomStats().merge(a).merge(b)
    assert (total.frames, total.bytes, total.decode_ns) == (3, 150, 12)
    assert total.events == Counter(CommentEvent=4, LikeEvent=2) and total.events_total == 6
    assert (total.reconnects, total.rate_limited) == (1, 4)
    assert total.last_event_time == 12.5
    assert a.events == Counter(CommentEvent=3)  # merging does not change the sources


def test_as_dict_is_plain_data():
    data = RoomStats(frames=1, decode_ns=2_000_000_000, events=Counter(X=1)).as_dict()
    assert data["events"] == {"X": 1} and data["events_total"] == 1
    assert data["decode_seconds"] == 2.0 and data["last_event_time"] is None


def test_states_are_strings():
    assert RoomState.BACKING_OFF == "backing_off" and RoomState("live") is RoomState.LIVE


async def test_stats_table_has_a_line_per_room_and_a_total():
    from fastlive import Monitor
    from fastlive._config import Settings
    from fastlive.cli.stats import stats_table

    monitor = Monitor(["@alice", 7_400_000_000_000_000_001], settings=Settings())
    try:
        lines = stats_table(monitor, now=1_000.0).splitlines()
    finally:
        await monitor.aclose()
    head, *rooms, total = lines
    assert head.split()[:4] == ["room", "state", "mode", "events"]
    assert [line.split()[:2] for line in rooms] == [
        ["@alice", "idle"],
        ["7400000000000000001", "idle"],
    ]
    assert total.split()[:2] == ["total", "0/2"] and total.endswith("-")  # no event yet
    assert len({len(line.rstrip("- ")) for line in rooms}) == 1  # the columns line up
    assert not hasattr(monitor, "stats_table")  # formatting lives in the CLI layer
