"""End to end: the fake TikTok's scripted rooms, through a sink, to ``fastlive report --json``.

Two rooms of gifts (streaks and not), comments, follows, a share and viewer counts are
scripted with exact times; whatever carries them into the database (the client and
SQLiteSink or PostgresSink, or ``fastlive watch --db``), the report must give the
figures computed here by hand.
"""

from __future__ import annotations

import json

import pytest

from fastlive.cli.main import main

T0 = 1_767_225_600_000  # 2026-01-01T00:00:00Z
SECOND = 1000
MIN = 60 * SECOND
HOUR = 60 * MIN


@pytest.fixture(scope="module")
def pg():
    from pg import cluster

    yield from cluster()


R1, R2 = 7_400_000_000_000_300_001, 7_400_000_000_000_300_002
A = (101, "Gifter A", "gifter.a")
B = (102, "Gifter B", "gifter.b")


def scripted_rooms() -> tuple[dict[str, dict], dict[str, dict]]:
    """Two rooms of traffic for the fake, and the report each must give (JSON form)."""
    from fastlive.testing import (
        chat,
        control,
        gift,
        make_user,
        room_user_seq,
        social_follow,
        social_share,
    )

    ids = iter(range(7_450_000_000_000_900_001, 7_450_000_000_000_999_999))

    def m(build, *args, **kw):
        msg_id = next(ids)
        return (METHODS[build.__name__], build(*args, msg_id=msg_id, **kw), msg_id)

    ua, ub = make_user(*A), make_user(*B)
    fans = [make_user(200 + i, f"Fan {i}", f"fan.{i}") for i in range(4)]
    t = T0  # @rep.one: live 10 minutes, from T0
    one = [
        [m(room_user_seq, total=50, room_id=R1, create_time=t)],
        [m(chat, f"hi {i}", fans[i], room_id=R1, create_time=t + i * 30 * SECOND) for i in range(4)],
        [  # a Rose streak of 5 from A, in five messages: 5 x 1 diamond
            m(gift, 5655, "Rose", 1, 1, ua, repeat_count=n, repeat_end=int(n == 5), group_id=77,
              room_id=R1, create_time=t + 60 * SECOND + n * SECOND)
            for n in range(1, 6)
        ],
        [m(gift, 6369, "Lion", 500, 2, ua, room_id=R1, create_time=t + 2 * MIN)],  # no streak
        [m(gift, 5487, "Finger Heart", 5, 1, ub, repeat_count=3, room_id=R1,
           create_time=t + 3 * MIN)],  # a streak of 3 in one message: 15
        [m(social_follow, fans[i], room_id=R1, create_time=t + 4 * MIN) for i in range(3)],
        [m(social_share, fans[3], room_id=R1, create_time=t + 4 * MIN)],
        [m(room_user_seq, total=321, room_id=R1, create_time=t + 5 * MIN)],
        [m(chat, f"more {i}", ub, room_id=R1, create_time=t + 6 * MIN + i * SECOND)
         for i in range(8)],
        [m(room_user_seq, total=200, room_id=R1, create_time=t + 9 * MIN)],
        [m(control, 3, room_id=R1, create_time=t + 10 * MIN)],  # the stream ends
    ]  # fmt: skip
    t = T0 + HOUR  # @rep.two: live 2 minutes, an hour later
    two = [
        [m(chat, f"yo {i}", fans[0], room_id=R2, create_time=t + i * 20 * SECOND)
         for i in range(6)],
        [m(gift, 5655, "Rose", 1, 1, ub, repeat_count=10, room_id=R2, create_time=t + MIN)],
        [m(room_user_seq, total=77, room_id=R2, create_time=t + MIN)],
        [m(control, 3, room_id=R2, create_time=t + 2 * MIN)],
    ]  # fmt: skip
    rooms = {"rep.one": {"room_id": R1, "frames": one}, "rep.two": {"room_id": R2, "frames": two}}
    gifter_a = {"user_id": 101, "unique_id": "gifter.a", "diamonds": 505, "gifts": 6, "streaks": 2}
    expected = {
        "@rep.one": {
            "room": "@rep.one", "room_ids": [R1], "sessions": 1, "live_seconds": 600.0,
            "diamonds": 520, "diamonds_per_hour": 3120.0, "streaks": 3, "comments": 12,
            "comments_per_minute": 1.2, "peak_viewers": 321, "new_followers": 3,
            "top_gifters": [
                gifter_a,
                {"user_id": 102, "unique_id": "gifter.b", "diamonds": 15, "gifts": 3,
                 "streaks": 1},
            ],
        },
        "@rep.two": {
            "room": "@rep.two", "room_ids": [R2], "sessions": 1, "live_seconds": 120.0,
            "diamonds": 10, "diamonds_per_hour": 300.0, "streaks": 1, "comments": 6,
            "comments_per_minute": 3.0, "peak_viewers": 77, "new_followers": 0,
            "top_gifters": [
                {"user_id": 102, "unique_id": "gifter.b", "diamonds": 10, "gifts": 10,
                 "streaks": 1},
            ],
        },
    }  # fmt: skip
    return rooms, expected


METHODS = {
    "chat": "WebcastChatMessage",
    "control": "WebcastControlMessage",
    "gift": "WebcastGiftMessage",
    "room_user_seq": "WebcastRoomUserSeqMessage",
    "social_follow": "WebcastSocialMessage",
    "social_share": "WebcastSocialMessage",
}


def check_json(out: str, expected: dict[str, dict]) -> None:
    got = [json.loads(line) for line in out.splitlines()]
    assert [g["room"] for g in got] == list(expected)  # most diamonds first
    for g in got:
        assert g.pop("since") is None and g.pop("until") > T0
        assert g == expected[g["room"]]


async def test_fake_to_sqlite_sink_to_report(tmp_path, capsys):
    """The client's events from the fake, written by SQLiteSink, give the scripted figures."""
    from fastlive.client import TikTokLiveClient
    from fastlive.sinks.sqlite import SQLiteSink
    from fastlive.testing import FakeTikTok

    rooms, expected = scripted_rooms()
    path = tmp_path / "events.db"
    sink = SQLiteSink(path)
    await sink.open()
    try:
        async with FakeTikTok() as fake:
            for handle, options in rooms.items():
                fake.add_room(handle, **options)
            for handle in rooms:
                client = TikTokLiveClient(f"@{handle}", settings=fake.settings(connect="signed"))
                room_id = rooms[handle]["room_id"]
                batch = [(f"@{handle}", room_id, e) async for e in client.events()]
                await sink.write(batch)
                await sink.write(batch)  # a replay stores nothing twice
        # read while the writer is still open (WAL: the report never waits for it)
        assert main(["report", "--db", str(path), "--json"]) == 0
        check_json(capsys.readouterr().out, expected)
    finally:
        await sink.aclose()
    assert main(["report", "--db", str(path), "--json"]) == 0
    check_json(capsys.readouterr().out, expected)


async def test_fake_to_postgres_sink_to_report(pg, capsys):
    """The same scripted figures through PostgresSink and asyncpg."""
    from fastlive.client import TikTokLiveClient
    from fastlive.sinks.postgres import PostgresSink
    from fastlive.testing import FakeTikTok

    rooms, expected = scripted_rooms()
    pg.psql("CREATE DATABASE report_e2e")
    dsn = pg.dsn("report_e2e")
    sink = PostgresSink(dsn)
    await sink.open()
    try:
        async with FakeTikTok() as fake:
            for handle, options in rooms.items():
                fake.add_room(handle, **options)
            for handle in rooms:
                client = TikTokLiveClient(f"@{handle}", settings=fake.settings(connect="signed"))
                room_id = rooms[handle]["room_id"]
                batch = [(f"@{handle}", room_id, e) async for e in client.events()]
                await sink.write(batch)
                await sink.write(batch)  # a replay stores nothing twice
    finally:
        await sink.aclose()
    assert main(["report", "--db", dsn, "--json"]) == 0
    check_json(capsys.readouterr().out, expected)


async def watch(fake, *args: str, timeout: float = 60) -> tuple[int, str, str]:
    """``fastlive watch ...`` in a child process, pointed at the fake."""
    import asyncio
    import os
    import sys

    env = {
        **os.environ,
        "FASTLIVE_WEB_URL": fake.web_url,
        "FASTLIVE_WEBCAST_URL": fake.webcast_url,
        "SIGN_API_URL": fake.sign_api_url,
        "FASTLIVE_CONNECT": "signed",
    }
    env.pop("SIGN_API_KEY", None)
    proc = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "fastlive", "watch", *args, env=env,
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
    )  # fmt: skip
    out, err = await asyncio.wait_for(proc.communicate(), timeout)  # a hang guard only
    return proc.returncode, out.decode(), err.decode()


@pytest.mark.parametrize("target", ["sqlite", "postgres"])
async def test_watch_db_then_report(target, tmp_path, capsys, request):
    """``fastlive watch @a @b --db X`` then ``fastlive report --db X --json``: the scripted figures."""
    from fastlive.testing import FakeTikTok

    if target == "sqlite":
        db = str(tmp_path / "events.db")
    else:
        pg = request.getfixturevalue("pg")
        pg.psql("CREATE DATABASE report_watch")
        db = pg.dsn("report_watch")
    rooms, expected = scripted_rooms()
    async with FakeTikTok() as fake:
        for handle, options in rooms.items():
            fake.add_room(handle, **options)
        code, _, err = await watch(
            fake, "@rep.one", "@rep.two", "--once", "--db", db, "--poll-interval", "0.05",
            "--duration", "50",
        )  # fmt: skip
    assert code == 0, err
    assert main(["report", "--db", db, "--json"]) == 0
    check_json(capsys.readouterr().out, expected)
