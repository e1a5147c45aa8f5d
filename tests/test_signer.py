"""``fastlive.web.signer``: the sign server's fetch, its errors, and the websocket URL (§2.2, §3.1)."""

from __future__ import annotations

import json
import logging
import socket
from urllib.parse import parse_qsl, urlsplit

import httpx
import pytest

import fastlive
from fastlive._config import DEFAULT_SIGN_RETRY_AFTER, DEFAULT_USER_AGENT, Settings
from fastlive.exceptions import (
    SignAPIError,
    SignatureMissingTokensError,
    SignatureRateLimitError,
    SignServerUnavailableError,
)
from fastlive.testing import FakeTikTok, chat
from fastlive.web.signer import (
    SignClient,
    SignedFetch,
    build_ws_url,
    parse_tt_cookies,
)

ROOM = 7_400_000_000_000_000_999
KEY = "euler-KEY-0123456789abcdef"
SESSION = "sid-SECRET-fedcba9876543210"
UA = DEFAULT_USER_AGENT


@pytest.fixture
async def fake():
    async with FakeTikTok() as server:
        server.add_room("alice", room_id=ROOM, initial=[("WebcastChatMessage", chat(msg_id=5), 5)])
        yield server


@pytest.fixture
async def http():
    async with httpx.AsyncClient() as client:
        yield client


NOW = 1_760_000_000.0
"""The sign client's clock in these tests (a Unix time)."""


def signer(fake: FakeTikTok, http: httpx.AsyncClient, **settings) -> SignClient:
    return SignClient(fake.settings(**settings), http, clock=lambda: NOW)


def query_of(url: str) -> list[tuple[str, str]]:
    return parse_qsl(urlsplit(url).query, keep_blank_values=True)


# -- success -------------------------------------------------------------------------


async def test_fetch_returns_batch_cookies_and_ws_url(fake, http):
    signed = await signer(fake, http).fetch(ROOM, user_agent=UA)
    assert isinstance(signed, SignedFetch) and isinstance(signed.batch, fastlive.Batch)
    assert signed.batch.is_first and signed.batch.cursor
    assert [e.msg_id for e in signed.batch.events] == [5]
    assert set(signed.cookies) == {"ttwid", "tt_chain_token"}
    assert signed.user_agent == UA
    assert signed.ws_url.startswith(fake.push_url + "?")
    assert signed.ws_url.endswith("&version_code=270000")
    assert dict(query_of(signed.ws_url))["wrss"] == signed.batch.route_params["wrss"]


async def test_fetch_request_params_and_headers(fake, http):
    await signer(fake, http, sign_api_key=KEY).fetch(ROOM, user_agent=UA)
    (req,) = fake.requests_to("/webcast/fetch")
    assert req.query == {
        "client": "fastlive",
        "room_id": str(ROOM),
        "user_agent": UA,
        "client_enter": "true",
    }
    assert req.headers["x-api-key"] == KEY
    assert req.headers["user-agent"].startswith("fastlive/")
    assert req.cookies == {}


async def test_no_key_no_key_header(fake, http):
    await signer(fake, http).fetch(ROOM, user_agent=UA)
    assert "x-api-key" not in fake.requests[0].headers


async def test_repr_hides_key_and_cookie_values(fake, http):
    client = signer(fake, http, sign_api_key=KEY)
    signed = await client.fetch(ROOM, user_agent=UA)
    assert KEY not in repr(client) and "set" in repr(client)
    text = repr(signed)
    assert "ttwid" in text and signed.cookies["ttwid"] not in text and "wrss" not in text


# -- authenticated fetches -----------------------------------------------------------


async def test_session_needs_allow_authenticated(fake, http):
    with pytest.raises(ValueError, match="allow_authenticated=True") as caught:
        await signer(fake, http).fetch(
            ROOM, user_agent=UA, session_id=SESSION, tt_target_idc="useast1a"
        )
    assert SESSION not in str(caught.value) and "127.0.0.1" in str(caught.value)
    assert not fake.requests  # nothing was sent


async def test_session_needs_its_idc(fake, http):
    with pytest.raises(ValueError, match="tt-target-idc"):
        await signer(fake, http).fetch(
            ROOM, user_agent=UA, session_id=SESSION, allow_authenticated=True
        )


async def test_authenticated_fetch_sends_the_session(fake, http):
    await signer(fake, http).fetch(
        ROOM, user_agent=UA, session_id=SESSION, tt_target_idc="eu-ttp2", allow_authenticated=True
    )
    (req,) = fake.requests
    assert req.headers["x-cookie-header"] == f"sessionid={SESSION}; tt-target-idc=eu-ttp2"
    assert SESSION not in str(req.query)  # never in the URL: URLs get logged


# -- errors ----------------------------------------------------------------------------


async def test_rate_limit_carries_retry_after_and_reset(fake, http):
    fake.room(ROOM).sign_faults = [429]
    fake.room(ROOM).retry_after = 2.5
    with pytest.raises(SignatureRateLimitError) as caught:
        await signer(fake, http).fetch(ROOM, user_agent=UA)
    error = caught.value
    assert error.retry_after == 2.5 and error.status == 429
    assert error.reset_time == NOW + 2  # RateLimit-Reset: 2 (seconds from now)
    assert "(minute)" in str(error) and "2.5 s" in str(error)
    assert isinstance(error, SignAPIError)


async def test_rate_limit_from_a_reset_timestamp(fake, http):
    reset = int(NOW) + 30
    fake.fail_next("/webcast/fetch", 429, headers={"X-RateLimit-Reset": str(reset)})
    with pytest.raises(SignatureRateLimitError) as caught:
        await signer(fake, http).fetch(ROOM, user_agent=UA)
    assert caught.value.reset_time == reset and caught.value.retry_after == 30


async def test_rate_limit_without_headers_waits_the_default(fake, http):
    fake.fail_next("/webcast/fetch", 429, body=b"not json")
    with pytest.raises(SignatureRateLimitError) as caught:
        await signer(fake, http).fetch(ROOM, user_agent=UA)
    assert caught.value.retry_after == DEFAULT_SIGN_RETRY_AFTER
    assert caught.value.reset_time is None


async def test_sign_server_down(http):
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    settings = Settings(sign_api_url=f"http://127.0.0.1:{port}", sign_api_key=KEY)
    with pytest.raises(SignServerUnavailableError) as caught:
        await SignClient(settings, http).fetch(ROOM, user_agent=UA)
    text = str(caught.value)
    assert "SIGN_API_URL" in text and f"127.0.0.1:{port}/webcast/fetch" in text
    assert KEY not in text and "?" not in text and caught.value.__cause__ is None


@pytest.mark.parametrize("status", [401, 402, 403])
async def test_key_or_plan_needed(fake, http, status):
    fake.room(ROOM).sign_faults = [status]
    with pytest.raises(SignAPIError, match="API key") as caught:
        await signer(fake, http).fetch(ROOM, user_agent=UA)
    assert caught.value.status == status and type(caught.value) is SignAPIError


async def test_fake_requiring_a_key(http):
    async with FakeTikTok(require_api_key=KEY) as fake:
        fake.add_room("alice", room_id=ROOM)
        with pytest.raises(SignAPIError) as caught:
            await signer(fake, http).fetch(ROOM, user_agent=UA)
        assert caught.value.status == 401
        assert (await signer(fake, http, sign_api_key=KEY).fetch(ROOM, user_agent=UA)).ws_url


@pytest.mark.parametrize("status", [404, 500, 503])
async def test_other_statuses(fake, http, status):
    fake.room(ROOM).sign_faults = [status]
    with pytest.raises(SignAPIError) as caught:
        await signer(fake, http).fetch(ROOM, user_agent=UA)
    assert caught.value.status == status and f"HTTP {status}" in str(caught.value)
    assert type(caught.value) is SignAPIError


@pytest.mark.parametrize(
    ("fault", "words"),
    [
        ("empty", "empty body"),
        ("no_push_server", "push_server"),
        ("no_cursor", "cursor"),
        ("no_cookies", "X-Set-TT-Cookie"),
    ],
)
async def test_missing_tokens(fake, http, fault, words):
    fake.room(ROOM).sign_faults = [fault]
    with pytest.raises(SignatureMissingTokensError, match=words):
        await signer(fake, http).fetch(ROOM, user_agent=UA)


async def test_a_body_that_is_not_a_fetch_result(fake, http):
    fake.room(ROOM).sign_faults = ["garbage"]
    with pytest.raises(SignAPIError, match="not a fetch result") as caught:
        await signer(fake, http).fetch(ROOM, user_agent=UA)
    assert not isinstance(caught.value, SignatureMissingTokensError)


@pytest.mark.parametrize("status", [429, 403, 500])
async def test_secrets_never_in_errors_or_logs(fake, http, caplog, status):
    caplog.set_level(logging.DEBUG)
    echo = json.dumps({"message": f"bad key {KEY} for {SESSION}", "limit_label": KEY}).encode()
    fake.fail_next("/webcast/fetch", status, body=echo)
    client = signer(fake, http, sign_api_key=KEY)
    with pytest.raises(SignAPIError) as caught:
        await client.fetch(
            ROOM,
            user_agent=UA,
            session_id=SESSION,
            tt_target_idc="useast1a",
            allow_authenticated=True,
        )
    error = caught.value
    for text in (str(error), repr(error), repr(error.args)):
        assert KEY not in text and SESSION not in text
    assert "***" in str(error)
    await client.fetch(
        ROOM, user_agent=UA, session_id=SESSION, tt_target_idc="useast1a", allow_authenticated=True
    )
    # every client-side line (fastlive, httpx, httpcore); the fake's own server log is not ours
    lines = [r.getMessage() for r in caplog.records if not r.name.startswith("websockets")]
    assert any("/webcast/fetch" in line for line in lines)
    assert not [line for line in lines if KEY in line or SESSION in line]


# -- cookies and websocket URL ------------------------------------------------------------


def test_parse_tt_cookies_keeps_every_pair():
    header = 'ttwid=1%7Cabc; tt_chain_token="q=="; Path=/; Domain=.tiktok.com; Secure; odin_tt=z'
    assert parse_tt_cookies(header) == {"ttwid": "1%7Cabc", "tt_chain_token": "q==", "odin_tt": "z"}
    assert parse_tt_cookies("") == {}


def test_ws_url_layout():
    route = {"wrss": "tok", "cursor": "c 1", "host": "", "aid": "9", "room_id": "1"}
    url = build_ws_url("wss://push.example/webcast/im/push/v2/", route, 7, user_agent=UA)
    base, _, query = url.partition("?")
    assert base == "wss://push.example/webcast/im/push/v2/"
    assert query.endswith("&version_code=270000")
    pairs = query_of(url)
    names = [k for k, _ in pairs]
    assert names[:2] == ["wrss", "cursor"]  # route params first
    assert "host" not in names  # empty route params are dropped
    params = dict(pairs[:-1])
    assert params["aid"] == "1988" and params["room_id"] == "7"  # fixed params win
    assert params["compress"] == "gzip" and params["version_code"] == "180800"
    assert pairs[-1] == ("version_code", "270000")
    fixed = {
        "app_name": "tiktok_web",
        "device_platform": "web",
        "identity": "audience",
        "live_id": "12",
        "sup_ws_ds_opt": "1",
        "update_version_code": "2.0.0",
        "client_enter": "1",
        "ws_direct": "1",
        "did_rule": "3",
        "heartbeat_duration": "10000",
        "resp_content_type": "protobuf",
        "history_comment_count": "6",
        "browser_online": "true",
        "cookie_enabled": "true",
        "browser_name": "Mozilla",
        "browser_platform": "Win32",
    }
    assert {k: params[k] for k in fixed} == fixed
    assert 100 <= int(params["last_rtt"]) <= 200
    assert params["browser_version"] == UA.partition("/")[2]


def test_ws_url_percent_encodes_values():
    url = build_ws_url("ws://127.0.0.1:1/p/", {"user_agent": "A B (x; y)/1", "e": "a&b=c"}, 7)
    assert "user_agent=A%20B%20%28x%3B%20y%29%2F1&" in url
    assert "e=a%26b%3Dc&" in url
    assert " " not in url and "(" not in url


def test_ws_url_without_compression_and_with_a_query_in_push_server():
    url = build_ws_url("ws://127.0.0.1:1/p/?x=1", {}, 7, compress=False, params={"ws_direct": "0"})
    assert url.startswith("ws://127.0.0.1:1/p/?x=1&")
    params = dict(query_of(url)[:-1])
    assert params["compress"] == "" and params["ws_direct"] == "0"
