"""Minting and sharing ``ttwid`` (protocol.md §2.8.2) against a loopback profile server."""

from __future__ import annotations

import asyncio
import logging
from urllib.parse import urlsplit

import pytest
from websockets.asyncio.server import ServerConnection, serve
from websockets.datastructures import Headers
from websockets.http11 import Request, Response

from fastlive._config import Settings
from fastlive.exceptions import ConnectError, TtwidMissingError
from fastlive.web.ttwid import (
    CHROME_USER_AGENTS,
    DESKTOP_USER_AGENTS,
    TtwidMinter,
    TtwidPool,
    parse_ttwid,
)

UA = CHROME_USER_AGENTS[0]
SECRET = "1%7CsEcReT-TtWiD%2B%2F%3D%7C1760000000%7Cabcdef0123456789"

try:
    import curl_cffi  # noqa: F401

    HAVE_CURL = True
except ImportError:
    HAVE_CURL = False


class Profiles:
    """www.tiktok.com's profile pages: ``ttwid`` on every ``every``-th request, else the
    challenge page (200, no cookie, ``X-TT-System-Error: 3``)."""

    def __init__(self) -> None:
        self.every = 1  # 0: never
        self.redirect = False  # /@name answers 302 to /@name?lang=en, cookie on the 302
        self.requests: list[Request] = []
        self.url = ""

    def process_request(self, connection: ServerConnection, request: Request) -> Response:
        self.requests.append(request)
        path = urlsplit(request.path).path
        if not path.startswith("/@"):
            return Response(404, "Not Found", Headers([("Content-Length", "0")]), b"")
        minted = self.every > 0 and len(self.requests) % self.every == 0
        cookies = [("Set-Cookie", "tt_csrf_token=abc; Path=/; HttpOnly")]
        if minted:
            cookies.append(("Set-Cookie", f"ttwid={SECRET}; Path=/; Domain=127.0.0.1; HttpOnly"))
        if self.redirect and "?" not in request.path:
            pairs = [("Location", request.path + "?lang=en"), ("Content-Length", "0")]
            return Response(302, "Found", Headers(pairs + cookies), b"")
        body = b"<html>profile</html>" if minted else b"<html>Please wait...</html>"
        pairs = [("Content-Type", "text/html"), ("Content-Length", str(len(body)))]
        if not minted:
            return Response(200, "OK", Headers([*pairs, ("X-TT-System-Error", "3")]), body)
        return Response(200, "OK", Headers(pairs + cookies), body)

    def paths(self) -> list[str]:
        return [r.path for r in self.requests]


@pytest.fixture
async def profiles():
    fake = Profiles()

    async def handler(ws: ServerConnection) -> None:  # pragma: no cover - never upgraded
        await ws.close()

    async with serve(handler, "127.0.0.1", 0, process_request=fake.process_request) as server:
        fake.url = f"http://127.0.0.1:{server.sockets[0].getsockname()[1]}"
        yield fake


def _settings(fake: Profiles, **overrides) -> Settings:
    values = {"web_url": fake.url, "ttwid_retry_delay": 0.01, "http_timeout": 5.0}
    values.update(overrides)
    return Settings(**values)


# -- parse_ttwid ---------------------------------------------------------------------


@pytest.mark.parametrize(
    ("headers", "value"),
    [
        ([f"ttwid={SECRET}; Path=/; HttpOnly"], SECRET),
        (["a=1", f"ttwid={SECRET}"], SECRET),
        (["ttwid=; Max-Age=0", f"ttwid={SECRET}; Path=/"], SECRET),
        (["ttwid=; Max-Age=0"], None),
        (["not_ttwid=x", "ttwid2=y"], None),
        ([], None),
    ],
)
def test_parse_ttwid(headers, value):
    assert parse_ttwid(headers) == value


# -- TtwidMinter over httpx ------------------------------------------------------------


async def test_mint_first_try(profiles):
    async with TtwidMinter(_settings(profiles), impersonate=False) as minter:
        assert not minter.impersonating
        assert await minter.mint(UA, "@alice") == SECRET  # verbatim, still URL-encoded
    assert profiles.paths() == ["/@alice"]
    request = profiles.requests[0]
    assert request.headers["User-Agent"] == UA
    assert "Cookie" not in request.headers
    assert (minter.mints, minter.misses, minter.failures) == (1, 0, 0)


async def test_mint_retries_over_both_profiles(profiles):
    profiles.every = 3
    async with TtwidMinter(_settings(profiles), impersonate=False) as minter:
        assert await minter.mint(UA, "alice") == SECRET
    assert profiles.paths() == ["/@alice", "/@tiktok", "/@alice"]
    assert (minter.mints, minter.misses) == (1, 2)
    assert all("Cookie" not in r.headers for r in profiles.requests)


async def test_mint_gives_up_after_its_rounds(profiles, caplog):
    profiles.every = 0
    caplog.set_level(logging.DEBUG)
    async with TtwidMinter(_settings(profiles, ttwid_attempts=3), impersonate=False) as minter:
        with pytest.raises(TtwidMissingError) as info:
            await minter.mint(UA, "alice")
    error = info.value
    assert isinstance(error, ConnectError)
    assert (error.attempts, error.unreachable) == (3, False)
    assert "challenge pages" in str(error) and "connect='signed'" in str(error)
    assert "fastlive[impersonate]" in str(error)
    assert len(profiles.requests) == 6
    assert (minter.mints, minter.misses, minter.failures) == (0, 6, 1)


class Sleeps:
    """An injected ``sleep``: records each wait, waits for none."""

    def __init__(self) -> None:
        self.waits: list[float] = []

    async def __call__(self, seconds: float) -> None:
        self.waits.append(seconds)


async def test_mint_spaces_its_rounds(profiles):
    profiles.every = 0
    sleeps = Sleeps()
    settings = _settings(profiles, ttwid_attempts=3, ttwid_retry_delay=0.2)
    async with TtwidMinter(settings, impersonate=False, sleep=sleeps) as minter:
        with pytest.raises(TtwidMissingError):
            await minter.mint(UA)  # no handle: only /@tiktok
    assert sleeps.waits == [0.2, 0.2]  # two pauses between three rounds, none after the last
    assert profiles.paths() == ["/@tiktok"] * 3


async def test_mint_follows_redirects_without_cookies(profiles):
    profiles.redirect = True
    profiles.every = 2  # the cookie comes on the second request: the redirected one
    async with TtwidMinter(_settings(profiles), impersonate=False) as minter:
        assert await minter.mint(UA, "bob") == SECRET
    assert profiles.paths() == ["/@bob", "/@bob?lang=en"]
    assert all("Cookie" not in r.headers for r in profiles.requests)


async def test_mint_takes_the_cookie_from_a_redirect_hop(profiles):
    profiles.redirect = True
    async with TtwidMinter(_settings(profiles), impersonate=False) as minter:
        assert await minter.mint(UA, "bob") == SECRET
    assert "Cookie" not in profiles.requests[-1].headers  # the 302's cookies were not kept


async def test_mint_unreachable_raises_at_once():
    sleeps = Sleeps()
    settings = Settings(web_url="http://127.0.0.1:9", ttwid_retry_delay=5.0, http_timeout=2.0)
    async with TtwidMinter(settings, impersonate=False, sleep=sleeps) as minter:
        with pytest.raises(TtwidMissingError) as info:
            await minter.mint(UA, "alice")
    assert sleeps.waits == []  # no retry delay
    assert info.value.unreachable and info.value.attempts == 1
    assert "Could not reach http://127.0.0.1:9/@alice" in str(info.value)
    assert minter.failures == 1


async def test_ttwid_never_logged_or_shown(profiles, caplog):
    caplog.set_level(logging.DEBUG)
    profiles.every = 2
    async with TtwidMinter(_settings(profiles), impersonate=False) as minter:
        pool = TtwidPool(2, minter)
        session = await pool.acquire("room-1", "alice")
        assert session.ttwid == SECRET
        rotated = await pool.rotate(session, "room-1", "alice")
    # every client-side line; left out, as in test_client: the fake's own server log, and
    # httpcore's DEBUG trace, which prints whole response headers and is not per client
    logged = " ".join(
        f"{r.name} {r.getMessage()} {r.exc_text or ''}"
        for r in caplog.records
        if not r.name.startswith(("websockets.server", "httpcore"))
    )
    assert "ttwid minted" in logged
    shown = " ".join([logged, repr(minter), repr(pool), repr(session), repr(rotated)])
    assert SECRET not in shown
    assert "sEcReT" not in shown


# -- TtwidMinter through curl_cffi -------------------------------------------------------


def test_impersonation_follows_the_setting():
    assert not TtwidMinter(Settings(impersonate=False)).impersonating
    assert TtwidMinter(Settings(impersonate=True)).impersonating is HAVE_CURL
    assert TtwidMinter(Settings(), impersonate=False).impersonating is False


@pytest.mark.requires("curl_cffi")
async def test_mint_with_impersonation(profiles):
    profiles.every = 2
    profiles.redirect = True
    async with TtwidMinter(_settings(profiles), impersonate=True) as minter:
        assert minter.impersonating
        assert await minter.mint(UA, "carol") == SECRET
    assert profiles.paths() == ["/@carol", "/@carol?lang=en"]
    for request in profiles.requests:
        assert request.headers["User-Agent"] == UA  # the session's UA, not curl's own
        assert "Cookie" not in request.headers
    assert (minter.mints, minter.misses) == (1, 0)


@pytest.mark.requires("curl_cffi")
async def test_impersonated_mint_errors_are_fastlive_errors():
    settings = Settings(web_url="http://127.0.0.1:9", http_timeout=2.0)
    async with TtwidMinter(settings, impersonate=True) as minter:
        with pytest.raises(TtwidMissingError) as info:
            await minter.mint(UA, "alice")
    assert info.value.unreachable


# -- TtwidPool -----------------------------------------------------------------------------


class CountingMinter:
    """Stands in for TtwidMinter in the pool's logic tests: tw-1, tw-2, ..."""

    def __init__(self, impersonating: bool = False) -> None:
        self.impersonating = impersonating
        self.calls: list[tuple[str, str | None]] = []
        self.fail = 0

    async def mint(self, user_agent: str, unique_id: str | None = None) -> str:
        self.calls.append((user_agent, unique_id))
        if self.fail:
            self.fail -= 1
            raise TtwidMissingError("no ttwid", attempts=8)
        return f"tw-{len(self.calls)}"


async def test_pool_shares_up_to_the_cap():
    minter = CountingMinter()
    pool = TtwidPool(2, minter)
    a = await pool.acquire("A")
    b = await pool.acquire("B")
    c = await pool.acquire("C")
    assert a is b and c is not a
    assert (a.ttwid, c.ttwid) == ("tw-1", "tw-2")
    assert a.rooms == {"A", "B"} and c.rooms == {"C"}
    assert await pool.acquire("A") is a  # kept across reconnects
    assert len(minter.calls) == 2


async def test_rotate_only_moves_rooms_of_the_bad_session():
    minter = CountingMinter()
    pool = TtwidPool(2, minter)
    a, _, c = [await pool.acquire(room) for room in "ABCD"][:3]  # A, B on tw-1; C, D on tw-2
    fresh = await pool.rotate(a, "A")  # A got DEVICE_BLOCKED
    assert a.bad and fresh.ttwid == "tw-3" and pool.rotations == 1
    assert pool.session_of("B") is a  # B keeps it until it fails or reconnects
    assert pool.session_of("C") is c and not c.bad
    moved = await pool.acquire("B")  # B reconnects: its session is bad, so it moves
    assert moved is fresh and fresh.rooms == {"A", "B"}
    assert await pool.acquire("C") is c and c.rooms == {"C", "D"}
    assert len(minter.calls) == 3
    assert a not in pool.sessions  # nobody uses it any more


async def test_rotate_joins_a_session_minted_after_the_bad_one():
    minter = CountingMinter()
    pool = TtwidPool(2, minter)
    a, _, c = [await pool.acquire(room) for room in "ABC"]  # C alone on tw-2
    fresh = await pool.rotate(a, "A")
    assert fresh is c and c.rooms == {"A", "C"} and len(minter.calls) == 2
    older = TtwidPool(2, CountingMinter())
    first = await older.acquire("X")
    await older.acquire("Y")
    await older.rotate(first, "X")  # a session older than the bad one is never joined
    assert older.session_of("X").ttwid == "tw-2"


async def test_rotate_of_an_already_bad_session_joins_a_newer_one():
    minter = CountingMinter()
    pool = TtwidPool(3, minter)
    old = await pool.acquire("A")
    await pool.acquire("B")
    fresh = await pool.rotate(old, "A")
    again = await pool.rotate(old, "B")  # B failed too, on the same bad session
    assert again is fresh and pool.rotations == 1 and len(minter.calls) == 2


async def test_rotate_mints_with_a_new_user_agent_for_the_room():
    minter = CountingMinter()
    pool = TtwidPool(1, minter)
    session = await pool.acquire("A", "alice")
    rotated = await pool.rotate(session, "A", "alice")
    assert rotated is not session and rotated.ttwid == "tw-2"
    assert [c[1] for c in minter.calls] == ["alice", "alice"]
    for s, call in zip((session, rotated), minter.calls):
        assert s.user_agent == call[0]  # the mint and the websocket share one UA
        assert s.user_agent in DESKTOP_USER_AGENTS


async def test_pool_user_agents():
    chrome = TtwidPool(1, CountingMinter(impersonating=True))
    for room in range(20):
        assert (await chrome.acquire(room)).user_agent in CHROME_USER_AGENTS
    pinned = TtwidPool(1, CountingMinter(), user_agent="MyBot/1.0")
    assert (await pinned.acquire("A")).user_agent == "MyBot/1.0"


async def test_failed_mint_leaves_the_room_without_a_session():
    minter = CountingMinter()
    pool = TtwidPool(2, minter)
    session = await pool.acquire("A")
    minter.fail = 1
    with pytest.raises(TtwidMissingError):
        await pool.rotate(session, "A")
    assert pool.session_of("A") is None
    assert (await pool.acquire("A")).ttwid == "tw-3"


async def test_concurrent_rooms_share_one_mint():
    minter = CountingMinter()
    pool = TtwidPool(4, minter)
    sessions = await asyncio.gather(*(pool.acquire(room) for room in range(4)))
    assert len({id(s) for s in sessions}) == 1 and len(minter.calls) == 1


async def test_release_and_discard():
    minter = CountingMinter()
    pool = TtwidPool(2, minter)
    a = await pool.acquire("A")
    await pool.acquire("B")
    pool.release("A")
    assert a.rooms == {"B"} and pool.session_of("A") is None
    pool.discard(a, "B")  # B switched to signed: no mint
    assert a.bad and pool.sessions == [] and len(minter.calls) == 1


def test_pool_cap_must_be_positive():
    with pytest.raises(ValueError):
        TtwidPool(0, CountingMinter())


async def test_pool_with_the_real_minter(profiles):
    profiles.every = 2
    async with TtwidMinter(_settings(profiles), impersonate=False) as minter:
        pool = TtwidPool(Settings().ttwid_share_cap, minter)
        first = await pool.acquire(1, "alice")
        second = await pool.acquire(2, "bob")
    assert first is second and first.ttwid == SECRET
    assert (minter.mints, minter.misses) == (1, 1)
    assert {r.headers["User-Agent"] for r in profiles.requests} == {first.user_agent}
