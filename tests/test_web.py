"""``fastlive.web``: every route and every error, against ``FakeTikTok`` on loopback."""

from __future__ import annotations

import asyncio
import email.utils
import importlib.util
import logging
import socket

import httpx
import pytest
from typing_extensions import Self

from fastlive._config import Settings
from fastlive.exceptions import (
    AgeRestrictedError,
    FastLiveError,
    RateLimitedError,
    TikTokBlockedError,
    UserNotFoundError,
    UserOfflineError,
    WafBlockedError,
    WebError,
)
from fastlive.testing import FakeTikTok
from fastlive.web import TikTokWeb, normalize_unique_id, parse_retry_after, safe_url

ROOM = 7_400_000_000_000_000_555
SESSION = "sid-secret-0123456789abcdef"


@pytest.fixture
async def fake():
    async with FakeTikTok() as server:
        server.add_room("alice", room_id=ROOM)
        yield server


@pytest.fixture
async def web(fake):
    async with TikTokWeb(fake.settings()) as client:
        yield client


def closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


# -- handles -------------------------------------------------------------------------


@pytest.mark.parametrize(
    "value",
    [
        "alice",
        "@alice",
        "  @alice\n",
        "https://www.tiktok.com/@alice/live",
        "https://www.tiktok.com/@alice",
        "http://127.0.0.1:8080/@alice/live",
        "www.tiktok.com/@alice/live?lang=en",
        "alice/live",
    ],
)
def test_normalize_unique_id(value):
    assert normalize_unique_id(value) == "alice"


@pytest.mark.parametrize("value", ["", "   ", "@", "https://www.tiktok.com/"])
def test_normalize_unique_id_rejects_empty(value):
    with pytest.raises(ValueError, match="not a TikTok handle"):
        normalize_unique_id(value)


def test_safe_url_drops_query_and_credentials():
    url = "https://user:pw@www.tiktok.com:8443/api-live/user/room/?msToken=x&sessionid=y#f"
    assert safe_url(url) == "https://www.tiktok.com:8443/api-live/user/room/"
    assert safe_url("http://u:p@[::1]:8080/x?k=v") == "http://[::1]:8080/x"


def test_parse_retry_after():
    now = 1_760_000_000.0
    assert parse_retry_after("7") == 7.0
    assert parse_retry_after("1.5") == 1.5
    assert parse_retry_after("-3") == 0.0
    assert parse_retry_after(None) is None and parse_retry_after("soon") is None
    assert parse_retry_after("inf") is None and parse_retry_after("nan") is None
    date = email.utils.formatdate(now + 30, usegmt=True)
    assert parse_retry_after(date, now) == 30.0
    assert parse_retry_after(email.utils.formatdate(now - 30, usegmt=True), now) == 0.0


# -- room id -------------------------------------------------------------------------


async def test_room_id_from_the_live_page(fake, web):
    assert await web.fetch_room_id("https://www.tiktok.com/@alice/live") == ROOM
    (page,) = fake.requests
    assert page.path == "/@alice/live" and page.query == {}  # no params on the page
    assert page.headers["user-agent"] == web.user_agent
    assert page.cookies == {"tt-target-idc": "useast1a"}


async def test_room_id_falls_back_to_the_api_when_the_page_is_blocked(fake, web):
    fake.room(ROOM).html_blocked = True
    assert await web.fetch_room_id("@alice") == ROOM
    _page, api = fake.requests
    assert api.path == "/api-live/user/room/"
    assert api.query["uniqueId"] == "alice" and api.query["sourceType"] == "54"
    assert api.query["referer"] == f"{fake.web_url}/@alice/live"


async def test_room_id_falls_back_to_the_api_when_the_page_fails(fake, web):
    fake.fail_next("/@alice/live", 500)
    assert await web.fetch_room_id("alice") == ROOM
    assert [r.path for r in fake.requests] == ["/@alice/live", "/api-live/user/room/"]


async def test_room_id_of_an_offline_user_is_still_given(fake, web):
    fake.add_room("bob", room_id=42, live=False)
    assert await web.fetch_room_id("bob") == 42
    assert await web.fetch_is_live(room_id=42) is False
    assert await web.fetch_is_live(unique_id="@bob") is False


async def test_unknown_user(fake, web):
    with pytest.raises(UserNotFoundError) as caught:
        await web.fetch_room_id("@nobody")
    assert caught.value.unique_id == "nobody" and "@nobody" in str(caught.value)
    with pytest.raises(UserNotFoundError):
        await web.fetch_is_live(unique_id="nobody")


async def test_user_without_a_room_is_offline(fake, web):
    fake.fail_next("/@carol/live", 200, body=b"<html>no state</html>")
    body = (
        b'{"statusCode": 0, "message": "", "data": {"user": {"uniqueId": "carol", "roomId": ""}}}'
    )
    fake.fail_next("/api-live/user/room/", 200, body=body)
    with pytest.raises(UserOfflineError) as caught:
        await web.fetch_room_id("carol")
    assert caught.value.unique_id == "carol"


async def test_api_errors_are_web_errors(fake, web):
    fake.room(ROOM).html_blocked = True
    fake.fail_next(
        "/api-live/user/room/", 200, body=b'{"statusCode": 0, "message": "params_error"}'
    )
    with pytest.raises(WebError, match="params_error"):
        await web.fetch_room_id("alice")
    fake.fail_next("/api-live/user/room/", 200, body=b'{"statusCode": 10101, "message": "nope"}')
    with pytest.raises(WebError, match="10101"):
        await web.fetch_room_id("alice")


# -- live checks ---------------------------------------------------------------------


async def test_is_live_by_room_and_by_handle(fake, web):
    assert await web.fetch_is_live(room_id=ROOM) is True
    assert await web.fetch_is_live(unique_id="alice") is True
    check = fake.requests_to("/webcast/room/check_alive/")[0]
    assert check.query["room_ids"] == str(ROOM)


async def test_is_live_needs_exactly_one_key(web):
    with pytest.raises(ValueError, match="exactly one"):
        await web.fetch_is_live()
    with pytest.raises(ValueError, match="exactly one"):
        await web.fetch_is_live(room_id=1, unique_id="a")


async def test_is_live_many_batches_by_fifty_and_keeps_order(fake, web):
    ids = [1000 + i for i in range(120)]
    for i in ids[::7]:
        fake.add_room(f"user{i}", room_id=i, live=i % 2 == 0)
    result = await web.fetch_is_live_many([*ids, 99])
    expected = [i in ids[::7] and i % 2 == 0 for i in ids] + [False]
    assert result == expected
    batches = [
        r.query["room_ids"].split(",") for r in fake.requests_to("/webcast/room/check_alive")
    ]
    assert [len(b) for b in batches] == [50, 50, 21]


async def test_is_live_many_without_ids_in_entries_uses_order(fake, web):
    fake.fail_next(
        "/webcast/room/check_alive/", 200, body=b'{"data": [{"alive": false}, {"alive": true}]}'
    )
    assert await web.fetch_is_live_many([5, 6]) == [False, True]
    assert await web.fetch_is_live_many([]) == []
    zero_ids = b'{"data": [{"room_id": 0, "alive": true}, {"room_id_str": "x", "alive": true}]}'
    fake.fail_next("/webcast/room/check_alive/", 200, body=zero_ids)
    assert await web.fetch_is_live_many([5, 6]) == [True, True]  # no usable id: request order


# -- room info and gifts ---------------------------------------------------------


async def test_room_info(fake, web):
    info = await web.fetch_room_info(ROOM)
    assert info["owner"]["display_id"] == "alice" and info["status"] == 2
    assert fake.requests_to("/webcast/room/info/")[0].query["room_id"] == str(ROOM)


async def test_room_info_without_arguments_uses_the_stored_room(fake, web):
    with pytest.raises(ValueError, match="start the client first"):
        await web.fetch_room_info()
    by_handle = await web.fetch_room_info(unique_id="alice")
    web.room_id = ROOM
    assert (await web.fetch_room_info()) == by_handle
    assert by_handle["owner"]["display_id"] == "alice"
    with pytest.raises(ValueError, match="not both"):
        await web.fetch_room_info(ROOM, unique_id="alice")


async def test_room_info_age_restricted(fake, web):
    fake.add_room("teen", room_id=77, age_restricted=True)
    with pytest.raises(AgeRestrictedError, match="set_session"):
        await web.fetch_room_info(77)


@pytest.mark.parametrize(
    "body",
    [
        b'{"data": {"prompts": "18+"}, "status_code": 0}',
        b'{"data": {"age_restricted": {"restricted": true}, "a": 1, "b": 2}, "status_code": 0}',
        b'{"data": {"message": "x"}, "status_code": 0}',  # TikTokLive's len(data) <= 1 rule
    ],
)
async def test_room_info_age_restriction_signals(fake, web, body):
    fake.fail_next("/webcast/room/info/", 200, body=body)
    with pytest.raises(AgeRestrictedError):
        await web.fetch_room_info(ROOM)


async def test_room_info_unknown_room(web):
    with pytest.raises(WebError, match="30003") as caught:
        await web.fetch_room_info(5)
    assert not isinstance(caught.value, AgeRestrictedError)


async def test_gift_list(fake, web):
    gifts = await web.fetch_gift_list(ROOM)
    assert {"id": 5655, "name": "Rose", "diamond_count": 1, "type": 1} in gifts
    assert fake.requests_to("/webcast/gift/list/")[0].query["room_id"] == str(ROOM)
    await web.fetch_gift_list()
    assert "room_id" not in fake.requests_to("/webcast/gift/list/")[1].query


async def test_gift_list_without_gifts(fake, web):
    fake.fail_next("/webcast/gift/list/", 200, body=b'{"data": {}, "status_code": 0}')
    with pytest.raises(WebError, match="data.gifts"):
        await web.fetch_gift_list()


# -- defaults --------------------------------------------------------------------------


async def test_default_params_and_headers(fake, web):
    await web.fetch_is_live(room_id=ROOM)
    await web.fetch_is_live(room_id=ROOM)
    first, second = fake.requests_to("/webcast/room/check_alive/")
    q = first.query
    assert q["aid"] == "1988" and q["app_name"] == "tiktok_web" and q["channel"] == "tiktok_web"
    assert q["device_platform"] == "web_pc" and q["user_is_login"] == "false"
    assert q["browser_name"] == "Mozilla" and q["browser_version"].startswith("5.0 (Windows")
    assert q["browser_platform"] == "Win32" and q["os"] == "windows"
    assert q["msToken"] == "" and q["from_page"] == "" and 4 <= int(q["history_len"]) <= 14
    assert len(q["device_id"]) == 20 and q["device_id"] != second.query["device_id"]
    h = first.headers
    assert h["user-agent"] == web.user_agent == Settings().user_agent
    assert h["referer"] == f"{fake.web_url}/" and h["origin"] == fake.web_url
    assert h["accept"] == "text/html,application/json,application/protobuf"
    assert h["sec-fetch-site"] == "same-site" and h["accept-language"] == "en-US,en;q=0.9"


async def test_one_user_agent_and_overrides(fake):
    ua = "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) Safari/605.1.15"
    async with TikTokWeb(
        fake.settings(), headers={"User-Agent": ua}, params={"region": "DE"}, cookies={"x": "1"}
    ) as web:
        await web.fetch_gift_list()
    req = fake.requests[0]
    assert web.user_agent == ua == req.headers["user-agent"]
    assert req.query["browser_platform"] == "MacIntel" and req.query["os"] == "mac"
    assert req.query["region"] == "DE"
    assert req.cookies == {"tt-target-idc": "useast1a", "x": "1"}


async def test_set_session_sends_session_cookies(fake, web):
    web.set_session(SESSION, "eu-ttp2")
    await web.fetch_gift_list()
    req = fake.requests[0]
    assert req.cookies["sessionid"] == req.cookies["sessionid_ss"] == req.cookies["sid_tt"]
    assert req.cookies["tt-target-idc"] == "eu-ttp2" and req.query["user_is_login"] == "true"
    assert SESSION not in repr(web)
    with pytest.raises(ValueError):
        web.set_session(SESSION, "")


async def test_response_cookies_join_the_jar(fake, web):
    fake.fail_next(
        "/webcast/gift/list/",
        200,
        headers={"Set-Cookie": "msToken=abc; Path=/"},
        body=b'{"data": {"gifts": []}}',
    )
    await web.fetch_gift_list()
    await web.fetch_gift_list()
    assert web.cookies["msToken"] == "abc"
    assert fake.requests[1].cookies["msToken"] == "abc"


async def test_client_ownership(fake):
    web = TikTokWeb(fake.settings())
    await web.aclose()
    assert web.http.is_closed
    async with httpx.AsyncClient() as shared:
        async with TikTokWeb(fake.settings(), http=shared) as web:
            assert web.http is shared
        assert not shared.is_closed
        with pytest.raises(ValueError, match="proxy"):
            TikTokWeb(fake.settings(), http=shared, proxy="http://127.0.0.1:1")


# -- errors ------------------------------------------------------------------------------


async def test_429_is_rate_limited_with_retry_after(fake, web):
    fake.fail_next("/webcast/room/check_alive/", 429, headers={"Retry-After": "7"})
    with pytest.raises(RateLimitedError) as caught:
        await web.fetch_is_live(room_id=ROOM)
    assert caught.value.retry_after == 7.0 and caught.value.status == 429
    assert "7 s" in str(caught.value)
    fake.fail_next("/webcast/room/info/", 429)
    with pytest.raises(RateLimitedError) as caught:
        await web.fetch_room_info(ROOM)
    assert caught.value.retry_after is None


@pytest.mark.parametrize(
    ("status", "error"),
    [(403, WafBlockedError), (404, WebError), (500, WebError), (503, WebError)],
)
async def test_other_statuses_are_web_errors(fake, web, status, error):
    fake.fail_next("/webcast/room/info/", status)
    with pytest.raises(WebError) as caught:
        await web.fetch_room_info(ROOM)
    assert caught.value.status == status and type(caught.value) is error
    assert f"HTTP {status}" in str(caught.value) and "?" not in str(caught.value)
    assert any(w in str(caught.value) for w in ("try", "wait"))  # says what to do


async def test_the_live_page_fails_like_the_api(fake, web):
    fake.fail_next("/@alice/live", 403)
    with pytest.raises(TikTokBlockedError, match="HTTP 403"):
        await web._room_id_from_html("alice")


@pytest.mark.parametrize(
    "body", [b"<html>captcha</html>", b"", b'["a list"]', b"[" * 100_000 + b"]" * 100_000]
)
async def test_non_json_answer(fake, web, body):
    fake.fail_next("/webcast/room/info/", 200, body=body)
    with pytest.raises(TikTokBlockedError, match="not JSON") as caught:
        await web.fetch_room_info(ROOM)
    assert caught.value.status == 200 and isinstance(caught.value, WebError)


async def test_server_words_are_kept_without_the_session(fake, web):
    web.set_session(SESSION, "useast1a")
    words = f'{{"message": "session {SESSION} is not allowed here"}}'.encode()
    fake.fail_next("/webcast/room/info/", 400, body=words)
    with pytest.raises(WebError) as caught:
        await web.fetch_room_info(ROOM)
    assert "is not allowed here" in str(caught.value) and "***" in str(caught.value)
    assert SESSION not in str(caught.value) and caught.value.__cause__ is None


async def test_429_reads_a_rate_limit_reset_too(fake, web):
    fake.fail_next("/webcast/room/info/", 429, headers={"RateLimit-Reset": "12"})
    with pytest.raises(RateLimitedError) as caught:
        await web.fetch_room_info(ROOM)
    assert caught.value.retry_after == 12.0 and "12 s" in str(caught.value)


async def test_unreachable_host_is_a_web_error_without_query(caplog):
    caplog.set_level(logging.DEBUG)
    port = closed_port()
    settings = Settings(web_url=f"http://127.0.0.1:{port}", webcast_url=f"http://127.0.0.1:{port}")
    async with TikTokWeb(settings) as web:
        web.set_session(SESSION, "useast1a")
        for call in (web.fetch_room_info(ROOM), web.fetch_room_id("alice")):
            with pytest.raises(WebError) as caught:
                await call
            error = caught.value
            assert not isinstance(error, httpx.HTTPError) and isinstance(error, FastLiveError)
            assert f"127.0.0.1:{port}/" in str(error) and "network" in str(error)
            assert "?" not in str(error) and "device_id" not in str(error)
            assert error.__cause__ is None  # httpx's error holds the request and its cookies
    assert SESSION not in caplog.text


# -- proxies -------------------------------------------------------------------------------


class ForwardProxy:
    """A tiny HTTP forward proxy on loopback that records the targets it was asked for."""

    def __init__(self) -> None:
        self.targets: list[str] = []

    async def __aenter__(self) -> Self:
        self.server = await asyncio.start_server(self._serve, "127.0.0.1", 0)
        self.url = f"http://127.0.0.1:{self.server.sockets[0].getsockname()[1]}"
        return self

    async def __aexit__(self, *exc: object) -> None:
        self.server.close()
        await self.server.wait_closed()

    async def _serve(self, reader, writer):
        head = await reader.readuntil(b"\r\n\r\n")
        method, target, version = head.split(b"\r\n", 1)[0].decode().split(" ")
        self.targets.append(target)
        url = httpx.URL(target)
        up_reader, up_writer = await asyncio.open_connection(url.host, url.port)
        rest = head.split(b"\r\n", 1)[1]
        path = url.raw_path.decode()
        up_writer.write(f"{method} {path} {version}\r\n".encode() + rest)
        await up_writer.drain()
        writer.write(await up_reader.read())  # the fake closes after each answer
        await writer.drain()
        writer.close()
        up_writer.close()


async def test_http_proxy_carries_the_requests(fake):
    async with ForwardProxy() as proxy, TikTokWeb(fake.settings(), proxy=proxy.url) as web:
        assert await web.fetch_is_live(room_id=ROOM) is True
    assert proxy.targets[0].startswith(f"{fake.web_url}/webcast/room/check_alive/?")
    assert fake.requests[0].path == "/webcast/room/check_alive/"


async def test_proxy_down_is_a_web_error(fake):
    async with TikTokWeb(fake.settings(), proxy=f"http://127.0.0.1:{closed_port()}") as web:
        with pytest.raises(WebError, match="proxy"):
            await web.fetch_gift_list()


@pytest.mark.skipif(importlib.util.find_spec("socksio") is not None, reason="socks extra installed")
def test_socks_proxy_without_the_extra_says_what_to_install():
    with pytest.raises(ImportError, match=r"fastlive\[socks\]"):
        TikTokWeb(Settings(), proxy="socks5://127.0.0.1:1080")
