"""The fleet against a real ``nats-server -js`` and the fake TikTok: leases taken, renewed
and released; rooms shared fairly and moved when a worker dies; every event once on the
stream, across a server restart too.

TTLs are short (2 s) and expire in real time: waits are bounded only as hang guards.
"""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
from collections import Counter

import msgspec
import pytest
from nats.js.api import DeliverPolicy
from nats.js.errors import KeyNotFoundError

from fastlive.cli.main import main as cli_main
from fastlive.fleet import Worker, add_rooms, connect, list_rooms, remove_rooms
from fastlive.fleet.buckets import LEASES, open_bucket
from fastlive.fleet.publisher import STREAM
from fastlive.monitor.limits import SignLimiter
from fastlive.testing import FakeTikTok, chat, make_user
from nats_server import running_server

TTL = 2.0
BASE_ROOM = 7_400_000_000_000_300_000
USER = make_user(7_300_000_000_000_000_001, "Alice A", "alice.a", fan_club_name="")
FAST = {"connect": "signed", "backoff_initial": 0.05, "backoff_max": 0.2}
GUARD = 60.0  # seconds: a hang guard, never an expected duration


@pytest.fixture
def nats_server(tmp_path):
    with running_server(tmp_path) as server:
        yield server


def comments(room_id: int, n: int, start: int = 0) -> list[list]:
    """``n`` frames of one comment each, msg ids unique across rooms."""
    out = []
    for i in range(start, start + n):
        msg_id = (room_id - BASE_ROOM) * 100_000 + i + 1
        out.append(
            [("WebcastChatMessage", chat(f"m{i}", USER, msg_id=msg_id, room_id=room_id), msg_id)]
        )
    return out


def ids_of(frames: list[list]) -> set[int]:
    return {m[2] for batch in frames for m in batch}


async def until(check, timeout: float = GUARD, every: float = 0.05):
    """Poll ``check()`` (sync or async) until it is true; fail after the hang guard."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while True:
        result = check()
        if asyncio.iscoroutine(result):
            result = await result
        if result:
            return result
        if loop.time() > deadline:
            raise AssertionError(f"not true within the {timeout:g} s hang guard")
        await asyncio.sleep(every)


async def stream_records(nc, subject: str = "fastlive.events.>") -> list[dict]:
    """Every record on the stream (an ordered consumer from the start)."""
    js = nc.jetstream()
    info = await js.stream_info(STREAM)
    total = info.state.messages
    out: list[dict] = []
    if total == 0:
        return out
    sub = await js.subscribe(subject, ordered_consumer=True, deliver_policy=DeliverPolicy.ALL)
    try:
        while True:
            try:
                msg = await sub.next_msg(timeout=1.0)
            except Exception:  # noqa: BLE001 - nats' TimeoutError: no more
                break
            out.append(msgspec.json.decode(msg.data))
            if msg.metadata.num_pending == 0:
                break
    finally:
        await sub.unsubscribe()
    return out


def worker(nats_url: str, fake: FakeTikTok, name: str, **kwargs) -> Worker:
    return Worker(
        nats_url,
        name=name,
        lease_ttl=TTL,
        settings=fake.settings(**FAST),
        monitor_kwargs={"poll_interval": 0.1, "sign_limiter": SignLimiter(rate=None)},
        **kwargs,
    )


async def test_leases_taken_renewed_released(nats_server):
    nc = await connect(nats_server.url)
    try:
        js = nc.jetstream()
        leases = await open_bucket(js, LEASES, TTL)
        rev = await leases.create("u_a", b"one")
        with pytest.raises(Exception, match="wrong last sequence"):  # held: no second owner
            await leases.create("u_a", b"two")
        rev2 = await leases.update("u_a", b"renewed", last=rev)  # compare-and-swap
        assert rev2 > rev
        with pytest.raises(Exception, match="wrong last sequence"):  # a stale revision loses
            await leases.update("u_a", b"stale", last=rev)
        await leases.delete("u_a", last=rev2)  # released: free at once
        assert await leases.create("u_a", b"three")
        # not renewed: the bucket TTL frees it
        await until(lambda: _created(leases, "u_a"))
    finally:
        await nc.close()


async def _created(kv, key: str) -> bool:
    try:
        await kv.create(key, b"again")
    except Exception:  # noqa: BLE001 - still held
        return False
    return True


async def test_two_workers_share_ten_rooms_fairly_and_take_over(nats_server):
    async with FakeTikTok() as fake:
        frames = {}
        for i in range(10):
            rid = BASE_ROOM + i
            frames[rid] = comments(rid, 3)
            fake.add_room(f"host{i}", room_id=rid, frames=frames[rid], interval=0.01)
        nc = await connect(nats_server.url)
        one = worker(nats_server.url, fake, "one")
        two = worker(nats_server.url, fake, "two")
        try:
            await add_rooms(nc.jetstream(), [f"@host{i}" for i in range(10)])
            await one.start()
            await until(lambda: len(one.rooms) == 10)  # alone: it takes them all
            await two.start()
            # the newcomer joins: the first sheds to a fair share, the second takes it
            await until(lambda: len(one.rooms) == 5 and len(two.rooms) == 5)
            assert not set(one.rooms) & set(two.rooms)
            assert one.stats.shed == 5
            listed = await list_rooms(nc.jetstream())
            assert len(listed) == 10 and {e.owner for e in listed} == {"one", "two"}
            # a room removed from the wanted set is stopped and released
            await remove_rooms(nc.jetstream(), ["@host0"])
            await until(lambda: "@host0" not in one.rooms + two.rooms)
            await add_rooms(nc.jetstream(), ["@host0"])
            # one stops: two takes everything
            await one.aclose()
            await until(lambda: len(two.rooms) == 10)
            expected = set().union(*(ids_of(f) for f in frames.values()))

            async def all_there():
                got = [r["msg_id"] for r in await stream_records(nc) if r["type"] == "CommentEvent"]
                return got if set(got) >= expected else None

            got = await until(all_there)
            assert Counter(got) == Counter(expected)  # each exactly once
        finally:
            await one.aclose()
            await two.aclose()
            await nc.close()


def spawn_worker(nats_url: str, fake: FakeTikTok, name: str) -> subprocess.Popen[bytes]:
    """``fastlive worker`` in its own process, pointed at the fake TikTok."""
    env = dict(os.environ)
    env.update(
        FASTLIVE_WEB_URL=fake.web_url,
        FASTLIVE_WEBCAST_URL=fake.webcast_url,
        SIGN_API_URL=fake.sign_api_url,
        FASTLIVE_WS_URL=fake.ws_url,
        FASTLIVE_CONNECT="signed",
        FASTLIVE_SIGN_RATE="0",
    )
    cmd = [sys.executable, "-m", "fastlive", "worker", "--nats", nats_url, "--name", name]
    cmd += ["--lease-ttl", str(TTL), "--poll-interval", "0.1"]
    return subprocess.Popen(cmd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)


async def owners(nc) -> dict[str, str]:
    """Room -> owner, from the leases bucket."""
    from fastlive.fleet.buckets import kv_keys

    kv = await open_bucket(nc.jetstream(), LEASES, TTL)
    out = {}
    for key in await kv_keys(kv):
        try:
            entry = await kv.get(key)
        except KeyNotFoundError:  # expired meanwhile
            continue
        value = msgspec.json.decode(entry.value)
        out[value["room"]] = value["owner"]
    return out


async def test_a_killed_worker_s_rooms_move_and_every_message_is_on_the_stream_once(nats_server):
    rooms = 10
    async with FakeTikTok() as fake:
        first, second = {}, {}
        for i in range(rooms):
            rid = BASE_ROOM + 1000 + i
            first[rid] = comments(rid, 3)
            second[rid] = comments(rid, 3, start=3)
            # the fetch's backlog repeats the first messages: a new owner re-publishes them
            backlog = [m[1] for batch in first[rid] for m in batch]
            fake.add_room(f"k{i}", room_id=rid, frames=first[rid], initial=backlog)
        nc = await connect(nats_server.url)
        procs = {}
        try:
            await add_rooms(nc.jetstream(), [f"@k{i}" for i in range(rooms)])
            procs = {n: spawn_worker(nats_server.url, fake, n) for n in ("a", "b")}

            async def shared():
                held = Counter((await owners(nc)).values())
                return held if sorted(held.values()) == [rooms // 2, rooms // 2] else None

            await until(shared, every=0.2)
            expected_first = set().union(*(ids_of(f) for f in first.values()))

            async def comment_ids():
                return [
                    r["msg_id"] for r in await stream_records(nc) if r["type"] == "CommentEvent"
                ]

            await until(lambda: _covers(comment_ids(), expected_first), every=0.2)
            victim = (await owners(nc)).copy()
            moved = sorted(room for room, owner in victim.items() if owner == "a")
            assert len(moved) == rooms // 2
            procs["a"].send_signal(signal.SIGKILL)
            procs["a"].wait()

            async def taken_over():
                return set((await owners(nc)).values()) == {"b"} and len(await owners(nc)) == rooms

            await until(taken_over, every=0.2)

            async def reconnected():  # b's own connection to each moved room is on the stream
                records = await stream_records(nc)
                connects = Counter(r["room"] for r in records if r["type"] == "ConnectEvent")
                return all(connects[room] >= 2 for room in moved)

            await until(reconnected, every=0.2)
            for rid, frames in second.items():
                fake.room(rid).push(*frames)
            expected = expected_first | set().union(*(ids_of(f) for f in second.values()))
            got = await until(lambda: _covers(comment_ids(), expected), every=0.2)
            assert Counter(got) == Counter(expected)  # each exactly once: the backlog de-duplicated
            records = [r for r in await stream_records(nc) if r["type"] == "CommentEvent"]
            for rid in first:
                per_room = [r["msg_id"] for r in records if r["room_id"] == rid]
                assert per_room == sorted(per_room)  # in order per room
            # fastlive tail prints the same records, as watch --jsonl does
            tail = await asyncio.create_subprocess_exec(
                sys.executable, "-m", "fastlive", "tail", "--nats", nats_server.url, "--all",
                "--type", "CommentEvent", "--count", str(len(expected)),
                stdout=subprocess.PIPE,
            )  # fmt: skip
            out, _ = await asyncio.wait_for(tail.communicate(), GUARD)
            lines = [msgspec.json.decode(line) for line in out.splitlines()]
            assert sorted(r["msg_id"] for r in lines) == sorted(expected)
            assert {r["v"] for r in lines} == {1}
        finally:
            for proc in procs.values():
                if proc.poll() is None:
                    proc.send_signal(signal.SIGTERM)
                    try:
                        proc.wait(15)
                    except subprocess.TimeoutExpired:
                        proc.kill()
                        proc.wait()
            await nc.close()


async def _covers(ids, expected: set[int]):
    got = await ids
    return got if set(got) >= expected else None


async def test_the_server_restarted_with_the_same_store_loses_nothing(nats_server):
    async with FakeTikTok() as fake:
        rid = BASE_ROOM + 2000
        first, second = comments(rid, 5), comments(rid, 5, start=5)
        fake.add_room("restart", room_id=rid, frames=first)
        nc = await connect(nats_server.url)
        w = worker(nats_server.url, fake, "solo")
        try:
            await add_rooms(nc.jetstream(), ["@restart"])
            await w.start()

            async def comment_ids():
                return [
                    r["msg_id"] for r in await stream_records(nc) if r["type"] == "CommentEvent"
                ]

            await until(lambda: _covers(comment_ids(), ids_of(first)))
            nats_server.stop()
            fake.room(rid).push(*second)  # events arrive while the server is down
            await until(lambda: w.monitor.stats.events.get("CommentEvent", 0) >= 10)
            nats_server.start()  # same port, same store directory
            expected = ids_of(first) | ids_of(second)
            got = await until(lambda: _covers(comment_ids(), expected), every=0.2)
            assert Counter(got) == Counter(expected)  # the first ones kept, the rest resent
            assert "@restart" in w.rooms or await until(lambda: "@restart" in w.rooms)
        finally:
            await w.aclose()
            await nc.close()


def test_rooms_cli_adds_lists_and_removes(nats_server, capsys):
    url = nats_server.url
    assert cli_main(["rooms", "add", "--nats", url, "@Alice", "@bob.b", "7400000000000000001"]) == 0
    assert "added @alice" in capsys.readouterr().out
    assert cli_main(["rooms", "list", "--nats", url]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[0].split() == ["room", "owner", "state", "mode", "events"]
    assert sorted(line.split()[0] for line in lines[1:]) == [
        "7400000000000000001",
        "@alice",
        "@bob.b",
    ]
    assert all(line.split()[1] == "-" for line in lines[1:])  # no worker holds them yet
    assert cli_main(["rooms", "remove", "--nats", url, "@bob.b"]) == 0
    capsys.readouterr()
    assert cli_main(["rooms", "list", "--nats", url]) == 0
    assert "@bob.b" not in capsys.readouterr().out
    with pytest.raises(SystemExit):  # nothing to add: usage
        cli_main(["rooms", "add", "--nats", url])


def test_a_nats_server_that_is_not_there_is_one_line(capsys):
    from nats_server import free_port

    url = f"nats://user:secret@127.0.0.1:{free_port()}"
    assert cli_main(["rooms", "list", "--nats", url]) == 2
    err = capsys.readouterr().err
    assert "cannot reach NATS" in err and "secret" not in err
