"""TikTok's WAF against ``fastlive.testing``'s WAF: the block page is a ``WafBlockedError``,
a blocked egress sends nothing until its cool-down, and a budget under the WAF's limit is
never blocked.  Time is virtual: the budget and the fake's WAF share one clock."""

from __future__ import annotations

import asyncio
import random

import httpx
import pytest

from fastlive import CommentEvent, Monitor
from fastlive.cli.format import status_line
from fastlive.exceptions import RateLimitedError, TikTokBlockedError, WafBlockedError
from fastlive.stats import RoomState
from fastlive.testing import FakeTikTok, WafRules, chat
from fastlive.testing.server import WAF_PAGE
from fastlive.web import TikTokWeb
from fastlive.web._http import is_block, is_waf_page
from fastlive.web.budget import Priority, WebBudget
from fastlive.web.ttwid import TtwidMinter
from virtual_time import VirtualTime

ROOM = 7_400_000_000_000_300_001


class SharedTime:
    """One virtual clock for a budget and the fake's WAF.

    A sleep first lets every request the budget granted reach the fake (so a
    request is seen by the WAF at the virtual time it was sent), then moves
    the clock on: minutes of pacing take milliseconds, with nothing to time.
    """

    def __init__(self) -> None:
        self.now = 5000.0
        self.fake: FakeTikTok | None = None
        self.budget: WebBudget | None = None

    def __call__(self) -> float:
        return self.now

    async def sleep(self, seconds: float) -> None:
        fake, budget = self.fake, self.budget
        if fake is not None and fake.waf is not None and budget is not None:
            for _ in range(2000):  # hang guard: a granted request that never left
                if len(fake.waf.hits) >= budget.stats.total:
                    break
                await asyncio.sleep(0.001)
        await asyncio.sleep(0)
        self.now += seconds


def waf_fake(clock: SharedTime, **rules) -> FakeTikTok:
    fake = FakeTikTok(waf=WafRules(clock=clock, **rules))
    clock.fake = fake
    return fake


def shared_budget(clock: SharedTime, **kwargs) -> WebBudget:
    kwargs.setdefault("rng", random.Random(3))
    budget = WebBudget(clock=clock, sleep=clock.sleep, **kwargs)
    clock.budget = budget
    return budget


def test_the_block_page_is_recognised():
    assert is_waf_page(WAF_PAGE) and is_waf_page(WAF_PAGE.decode())
    assert is_block(200, WAF_PAGE) and is_block(403, b"") and is_block(429, b"{}")
    assert not is_waf_page(b"<html><script id='SIGI_STATE'></script></html>")
    assert not is_block(200, b'{"data": {}}')
    # a WAF block is a block and a rate limit: code that catches either keeps working
    assert issubclass(WafBlockedError, TikTokBlockedError)
    assert issubclass(WafBlockedError, RateLimitedError)


@pytest.mark.parametrize("status", [200, 403])
async def test_the_block_page_raises_waf_blocked(status):
    clock = SharedTime()
    async with waf_fake(clock, rate_per_minute=1, burst=2, status=status) as fake:
        fake.add_room("alice", room_id=ROOM)
        async with TikTokWeb(fake.settings()) as web:
            assert (await web.fetch_room_info(ROOM))["id_str"]
            assert await web.fetch_is_live(room_id=ROOM)
            with pytest.raises(WafBlockedError, match="WAF") as caught:
                await web.fetch_room_info(ROOM)
            assert caught.value.status == status
            assert "--web-rate" in str(caught.value) and "prox" in str(caught.value)
            seen = len(fake.waf.hits)
            with pytest.raises(WafBlockedError):
                await web.fetch_room_id("alice")  # the live page is blocked...
            assert len(fake.waf.hits) == seen + 1  # ...and the API is not asked as well
            assert fake.waf.blocks == 1


async def test_a_429_from_the_web_side_is_a_waf_block_with_its_retry_after():
    async with FakeTikTok() as fake:
        fake.add_room("alice", room_id=ROOM)
        fake.fail_next("/webcast/room/check_alive/", 429, headers={"Retry-After": "42"})
        budget = WebBudget(rate=None, cooldown=10, jitter=0)
        async with TikTokWeb(fake.settings(), budget=budget) as web:
            with pytest.raises(WafBlockedError) as caught:
                await web.fetch_is_live(room_id=ROOM)
    assert caught.value.status == 429 and caught.value.retry_after == 42
    assert budget.stats.blocks == 1 and 41 < budget.blocked_for <= 42  # Retry-After wins


async def test_the_minter_stops_at_a_block_page():
    clock = SharedTime()
    async with waf_fake(clock, rate_per_minute=1, burst=1) as fake:
        settings = fake.settings(ttwid_attempts=8, ttwid_retry_delay=0)
        async with TtwidMinter(settings, impersonate=False) as minter:
            assert await minter.mint("agent/1", "alice")  # the one request allowed
            with pytest.raises(WafBlockedError, match="minting a ttwid"):
                await minter.mint("agent/1", "alice")
        assert len(fake.waf.hits) == 2  # not 8 rounds of 2 profiles: one request
        assert minter.blocks == 1 and minter.misses == 0


async def test_a_blocked_egress_sends_nothing_until_its_cooldown():
    clock = SharedTime()
    async with waf_fake(clock, rate_per_minute=30, burst=3, block_seconds=300) as fake:
        budget = shared_budget(clock, rate=30, burst=3, cooldown=300, jitter=0.2)
        settings = fake.settings(ttwid_retry_delay=0)
        async with httpx.AsyncClient() as other:  # another program on the same address
            for _ in range(3):
                await other.get(f"{fake.web_url}/@someone")
        async with TtwidMinter(settings, impersonate=False, budget=budget) as minter:
            with pytest.raises(WafBlockedError):
                await minter.mint("agent/1", "alice")  # the 4th request trips the WAF
            blocked_at = clock.now
            first_block = fake.waf.hits[-1]
            assert first_block.blocked and budget.is_blocked and budget.stats.blocks == 1
            # rooms keep asking: each waits for the egress, none is failed or sent
            mints = [asyncio.create_task(minter.mint("agent/1", f"r{i}")) for i in range(20)]
            ttwids = await asyncio.wait_for(asyncio.gather(*mints), 30)  # hang guard only
        assert all(ttwids) and len(set(ttwids)) == 20
        after = fake.waf.hits[fake.waf.hits.index(first_block) + 1 :]
        assert len(after) == 20
        assert [h for h in after if h.at < blocked_at + 300] == []  # zero during the block
        assert fake.waf.blocks == 1 and budget.stats.blocks == 1  # the block ended, never renewed
        assert min(h.at for h in fake.waf.hits if h.at > blocked_at) >= blocked_at + 300
        assert budget.stats.requests["ttwid"] == 21


async def test_a_budget_under_the_waf_limit_is_never_blocked():
    clock = SharedTime()
    async with waf_fake(clock, rate_per_minute=30, burst=10) as fake:
        budget = shared_budget(clock, rate=30, burst=10)
        for i in range(20):
            fake.add_room(f"host{i}", room_id=ROOM + i)
        async with TikTokWeb(fake.settings(), budget=budget) as web:
            start = clock.now
            calls = [web.fetch_room_id(f"host{i}") for i in range(20)]
            calls += [web.fetch_is_live_many([ROOM + i for i in range(20)]) for _ in range(10)]
            calls += [web.fetch_room_info(ROOM + i) for i in range(20)]
            calls.append(web.fetch_gift_list(priority=Priority.INFO))
            await asyncio.wait_for(asyncio.gather(*calls), 60)  # hang guard only
        elapsed = clock.now - start
    assert fake.waf.blocks == 0 and budget.stats.blocks == 0
    total = budget.stats.total
    assert total == len(fake.waf.hits) == 51
    assert elapsed == pytest.approx((total - 10) * 2.0, abs=2.1)  # the burst, then 30/min


async def test_without_a_budget_the_same_load_is_blocked():
    """The control: the same requests with no budget trip the fake's WAF at once."""
    clock = SharedTime()
    async with waf_fake(clock, rate_per_minute=30, burst=10) as fake:
        for i in range(20):
            fake.add_room(f"host{i}", room_id=ROOM + i)
        async with TikTokWeb(fake.settings()) as web:
            calls = [web.fetch_room_info(ROOM + i) for i in range(20)]
            results = await asyncio.gather(*calls, return_exceptions=True)
    assert sum(isinstance(r, WafBlockedError) for r in results) == 10
    assert fake.waf.blocks == 1


async def test_the_fake_waf_extends_a_block_on_every_hit():
    clock = SharedTime()
    async with waf_fake(clock, rate_per_minute=60, burst=1, block_seconds=300) as fake:
        url = f"{fake.web_url}/webcast/gift/list/"
        async with httpx.AsyncClient() as http:
            assert (await http.get(url)).status_code == 200
            blocked = await http.get(url)
            assert blocked.status_code == 200 and is_waf_page(blocked.content)
            address = fake.waf.hits[-1].address
            clock.now += 200
            assert is_waf_page((await http.get(url)).content)  # still blocked: and extended
            assert fake.waf.blocked_until(address) == clock.now + 300
            clock.now += 301
            assert (await http.get(url)).json()["data"]["gifts"]
            assert (await http.get(f"{fake.sign_api_url}/webcast/fetch")).status_code != 200
        assert fake.waf.blocks == 1 and len(fake.waf.blocked_hits()) == 2


def monitor_time(fake: FakeTikTok, box: list[WebBudget]) -> VirtualTime:
    """A virtual clock that moves only once every request granted has reached the fake."""
    clock = VirtualTime(5000.0)
    clock.settled = lambda: not box or len(fake.waf.hits) >= box[0].stats.total
    return clock


def chat_frames(room_id: int, count: int, start: int = 1) -> list:
    return [
        [("WebcastChatMessage", chat(f"m{k}", msg_id=room_id * 1000 + k), room_id * 1000 + k)]
        for k in range(start, start + count)
    ]


async def test_thirty_rooms_on_a_budget_connect_with_zero_blocks():
    """30 direct rooms, a budget of 30/min (burst 10) against a WAF of 30/min (burst 10):
    every room connects, the WAF never blocks, and the cost per room is counted."""
    rooms = 30
    box: list[WebBudget] = []
    rules = {"rate_per_minute": 30, "burst": 10, "block_seconds": 300}
    fake = FakeTikTok(waf=WafRules(**rules))
    clock = monitor_time(fake, box)
    fake.waf.rules = WafRules(clock=clock, **rules)
    budget = WebBudget(30, 10, clock=clock, sleep=clock.sleep, rng=random.Random(5))
    box.append(budget)
    async with fake:
        for i in range(rooms):
            fake.add_room(f"host{i}", room_id=ROOM + i, frames=chat_frames(i + 1, 2))
        settings = fake.settings(connect="direct", ttwid_retry_delay=0)
        monitor = Monitor(
            [f"@host{i}" for i in range(rooms)],
            settings=settings,
            poll_interval=0.05,
            web_budget=budget,
        )
        start = clock.now
        async with monitor:
            await fake.wait_for(lambda: monitor.states()[RoomState.LIVE] == rooms, timeout=120)
            elapsed = clock.now - start
            status = status_line(monitor, 0.0, 0)
            kinds = dict(budget.stats.requests)
    total = budget.stats.total
    assert fake.waf.blocks == 0 and budget.stats.blocks == 0
    assert not [h for h in fake.waf.hits if h.blocked]
    assert len(fake.waf.hits) == total  # every web request drew from the budget
    assert f"web {total:,} req" in status and "BLOCKED" not in status
    # the time is what the requests cost at the budget's pace: the burst, then 2 s each
    assert elapsed == pytest.approx(max(0, total - 10) * 2.0, abs=4.0)
    print(
        f"\n{rooms} rooms: {total} web requests ({total / rooms:.2f}/room) {kinds}, "
        f"{elapsed:.0f} virtual s"
    )


async def test_connected_rooms_keep_streaming_while_the_egress_is_blocked():
    frozen = VirtualTime(5000.0)  # the WAF's clock never moves: its block lasts
    async with FakeTikTok(waf=WafRules(rate_per_minute=30, burst=10, clock=frozen)) as fake:
        for i in range(3):
            fake.add_room(f"host{i}", room_id=ROOM + i, frames=chat_frames(i + 1, 2))
        budget = WebBudget(600, 20, cooldown=300)  # the real clock: a 5-minute block
        settings = fake.settings(connect="direct", ttwid_retry_delay=0)
        monitor = Monitor(
            [f"@host{i}" for i in range(3)],
            settings=settings,
            poll_interval=0.05,
            web_budget=budget,
        )
        got: set[int] = set()
        async with monitor:
            stream = monitor.events()

            async def consume() -> None:
                async for _room, event in stream:
                    if isinstance(event, CommentEvent):
                        got.add(event.msg_id)

            reader = asyncio.create_task(consume())
            await fake.wait_for(lambda: monitor.states()[RoomState.LIVE] == 3, timeout=30)
            await fake.wait_for(lambda: len(got) == 6, timeout=30)
            sockets = len(fake.ws_connections)
            async with httpx.AsyncClient() as other:  # another program trips the WAF
                for _ in range(12):
                    await other.get(f"{fake.web_url}/webcast/gift/list/")
            with pytest.raises(WafBlockedError):
                await monitor.web.fetch_gift_list()  # the Monitor sees the block...
            assert budget.is_blocked and "BLOCKED" in status_line(monitor, 0.0, 0)
            hits = len(fake.waf.hits)
            for i in range(3):  # ...and its rooms keep streaming
                fake.room(f"host{i}").push(*chat_frames(i + 1, 3, start=10))
            await fake.wait_for(lambda: len(got) == 15, timeout=30)
            reader.cancel()
            assert len(fake.ws_connections) == sockets  # the same websockets
            assert monitor.states()[RoomState.LIVE] == 3
            assert len(fake.waf.hits) == hits  # and not one web request during the block
