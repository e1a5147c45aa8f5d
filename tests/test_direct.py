"""The direct connection's pieces (protocol.md §2.8.3-2.8.6) against loopback servers."""

from __future__ import annotations

import json
import random
from collections.abc import Callable
from urllib.parse import parse_qsl, urlsplit

import httpx
import pytest
from websockets.asyncio.client import connect
from websockets.asyncio.server import ServerConnection, serve
from websockets.datastructures import Headers
from websockets.exceptions import InvalidStatus
from websockets.http11 import Request, Response

import fastlive
from fastlive.exceptions import (
    AgeRestrictedError,
    ConnectError,
    DeviceBlockedError,
    RateLimitedError,
    TikTokBlockedError,
    UserNotFoundError,
    WebcastBlockedError,
    WebError,
)
from fastlive.web.direct import (
    DIRECT_WS_PATH,
    DirectRoom,
    build_direct_ws_url,
    direct_handshake_headers,
    direct_upgrade_error,
    fetch_direct_room,
    is_device_blocked,
)

ROOM = 7140000000000000001
UA = "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/147.0"
TTWID = "1%7CsEcReTtTwIdVaLuE%2B%2F%3D%7C1760000000%7Cdeadbeefcafe"
PARAMS = [
    ("version_code", "180800"),
    ("device_platform", "web"),
    ("cookie_enabled", "true"),
    ("screen_width", "1920"),
    ("screen_height", "1080"),
    ("browser_language", "en-US"),
    ("browser_platform", "Linux x86_64"),
    ("browser_name", "Mozilla"),
    ("browser_version", "5.0 (X11)"),
    ("browser_online", "true"),
    ("tz_name", "UTC"),
    ("app_name", "tiktok_web"),
    ("sup_ws_ds_opt", "1"),
    ("update_version_code", "2.0.0"),
    ("compress", "gzip"),
    ("webcast_language", "en"),
    ("ws_direct", "1"),
    ("aid", "1988"),
    ("live_id", "12"),
    ("app_language", "en"),
    ("client_enter", "1"),
    ("room_id", str(ROOM)),
    ("identity", "audience"),
    ("history_comment_count", "6"),
    ("last_rtt", None),  # random, checked apart
    ("heartbeat_duration", "10000"),
    ("resp_content_type", "protobuf"),
    ("did_rule", "3"),
]


# -- the websocket URL ------------------------------------------------------------


def _query(url: str) -> list[tuple[str, str]]:
    return parse_qsl(urlsplit(url).query, keep_blank_values=True)


def test_url_has_the_28_params_in_order():
    url = build_direct_ws_url("wss://webcast-ws.tiktok.com", ROOM)
    parts = urlsplit(url)
    assert (parts.scheme, parts.netloc, parts.path) == (
        "wss",
        "webcast-ws.tiktok.com",
        "/webcast/im/ws_proxy/ws_reuse_supplement/",
    )
    query = _query(url)
    assert len(query) == 28
    assert [k for k, _ in query] == [k for k, _ in PARAMS]
    for (key, value), (_, expected) in zip(query, PARAMS):
        if expected is not None:
            assert value == expected, key
    rtt = dict(query)["last_rtt"]
    assert 100.0 <= float(rtt) <= 200.0
    assert len(rtt.split(".")[1]) == 3
    assert "route_params" not in url and "cursor" not in url and "version_code=270000" not in url


def test_url_is_percent_encoded():
    url = build_direct_ws_url("wss://webcast-ws.tiktok.com", ROOM, tz="America/New_York")
    assert "browser_version=5.0%20%28X11%29" in url
    assert "browser_platform=Linux%20x86_64" in url
    assert "tz_name=America%2FNew_York" in url


def test_url_options():
    url = build_direct_ws_url(
        "ws://127.0.0.1:8765/",
        42,
        heartbeat_ms=5000,
        compress=False,
        lang="de",
        region="AT",
        rng=random.Random(1),
    )
    assert url.startswith("ws://127.0.0.1:8765/webcast/im/ws_proxy/ws_reuse_supplement/?")
    query = dict(_query(url))
    assert query["compress"] == ""
    assert query["heartbeat_duration"] == "5000"
    assert query["room_id"] == "42"
    assert query["browser_language"] == "de-AT"
    assert query["app_language"] == query["webcast_language"] == "de"
    again = build_direct_ws_url(
        "ws://127.0.0.1:8765/",
        42,
        compress=False,
        lang="de",
        region="AT",
        heartbeat_ms=5000,
        rng=random.Random(1),
    )
    assert again == url  # an injected rng makes last_rtt reproducible


@pytest.mark.parametrize(
    ("base", "start"),
    [
        ("eu", "wss://webcast-ws.eu.tiktok.com/webcast/"),
        ("US", "wss://webcast-ws.us.tiktok.com/webcast/"),
        ("default", "wss://webcast-ws.tiktok.com/webcast/"),
        ("ws://127.0.0.1:9" + DIRECT_WS_PATH, "ws://127.0.0.1:9/webcast/im/ws_proxy/ws_reuse_"),
        ("ws://127.0.0.1:9/prefix", "ws://127.0.0.1:9/prefix/webcast/im/ws_proxy/"),
    ],
)
def test_url_bases(base, start):
    url = build_direct_ws_url(base, ROOM)
    assert url.startswith(start)
    assert urlsplit(url).path.endswith(DIRECT_WS_PATH)
    assert urlsplit(url).path.count("ws_reuse_supplement") == 1


@pytest.mark.parametrize("base", ["https://webcast-ws.tiktok.com", "webcast-ws.tiktok.com", ""])
def test_url_rejects_non_websocket_bases(base):
    with pytest.raises(ValueError, match="websocket base URL"):
        build_direct_ws_url(base, ROOM)


def test_direct_heartbeat_bytes():
    # §2.8.6: the direct hb carries room_id only, no send_packet_seq_id
    expected = bytes.fromhex("32 02 70 62 3a 02 68 62 42 0a 08 81 80 a8 82 bb 85 98 8b 63")
    assert fastlive.build_heartbeat(ROOM, 0) == expected


# -- the handshake headers ----------------------------------------------------------


def test_handshake_headers():
    assert direct_handshake_headers(UA, TTWID) == {
        "User-Agent": UA,
        "Cookie": f"ttwid={TTWID}",
        "Origin": "https://www.tiktok.com",
        "Referer": "https://www.tiktok.com/",
        "Accept-Language": "en-US,en;q=0.9",
        "Cache-Control": "no-cache",
    }


def test_handshake_headers_extra_cookies_and_locale():
    headers = direct_handshake_headers(
        UA,
        TTWID,
        extra_cookies={"sessionid": "s1", "tt-target-idc": "useast1a", "ttwid": "other", "x": ""},
        lang="fr",
        region="CA",
        web_url="http://127.0.0.1:1",
    )
    assert headers["Cookie"] == f"ttwid={TTWID}; sessionid=s1"
    assert headers["Accept-Language"] == "fr-CA,fr;q=0.9"
    assert headers["Origin"] == "http://127.0.0.1:1"


@pytest.mark.parametrize(("ua", "ttwid"), [("", TTWID), (UA, "")])
def test_handshake_headers_need_ua_and_ttwid(ua, ttwid):
    with pytest.raises(ValueError) as info:
        direct_handshake_headers(ua, ttwid)
    assert TTWID not in str(info.value)


# -- DEVICE_BLOCKED detection --------------------------------------------------------


@pytest.mark.parametrize(
    ("status", "headers", "blocked"),
    [
        (200, {"Handshake-Msg": "DEVICE_BLOCKED", "Handshake-Status": "415"}, True),
        (415, {"Handshake-Msg": "DEVICE_BLOCKED", "Handshake-Status": "415"}, True),
        (415, {}, True),
        (200, {"handshake-msg": "device_blocked"}, True),
        (200, {"handshake-status": " 415 "}, True),
        (200, Headers([("Handshake-Status", "415")]), True),
        (200, {"Handshake-Msg": "illegal secret key", "Handshake-Status": "417"}, False),
        (400, {"Handshake-Msg": "parameter error"}, False),
        (503, {}, False),
    ],
)
def test_is_device_blocked(status, headers, blocked):
    assert is_device_blocked(status, headers) is blocked


def test_upgrade_errors():
    url = "wss://webcast-ws.tiktok.com/webcast/im/ws_proxy/ws_reuse_supplement/?room_id=1"
    blocked = direct_upgrade_error(200, {"Handshake-Msg": "DEVICE_BLOCKED"}, url)
    assert isinstance(blocked, DeviceBlockedError) and isinstance(blocked, WebcastBlockedError)
    assert blocked.status == 200 and blocked.handshake_msg == "DEVICE_BLOCKED"
    assert "room_id" not in str(blocked)
    other = direct_upgrade_error(400, {"Handshake-Msg": "parameter error"}, url)
    assert type(other) is WebcastBlockedError and "parameter error" in str(other)
    assert type(direct_upgrade_error(502, {}, url)) is ConnectError


# -- a real websockets server: the upgrade as TikTok sees it -------------------------


def _ws_server(answer: Callable[[Request], Response | None], seen: list[Request]):
    def process_request(connection: ServerConnection, request: Request) -> Response | None:
        seen.append(request)
        return answer(request)

    async def handler(ws: ServerConnection) -> None:
        async for message in ws:
            await ws.send(message)  # echo: shows the socket is open

    return serve(handler, "127.0.0.1", 0, process_request=process_request, ping_interval=None)


def _blocked(status: int) -> Callable[[Request], Response]:
    def answer(request: Request) -> Response:
        headers = Headers(
            [
                ("Handshake-Msg", "DEVICE_BLOCKED"),
                ("Handshake-Status", "415"),
                ("x-tt-logid", "20260101000000ABCDEF"),
                ("Content-Length", "0"),
            ]
        )
        return Response(status, "OK" if status == 200 else "Unsupported", headers, b"")

    return answer


@pytest.mark.parametrize("status", [200, 415])
async def test_device_blocked_from_a_websockets_server(status):
    seen: list[Request] = []
    async with _ws_server(_blocked(status), seen) as server:
        port = server.sockets[0].getsockname()[1]
        url = build_direct_ws_url(f"ws://127.0.0.1:{port}", ROOM)
        with pytest.raises(InvalidStatus) as info:
            await connect(
                url,
                additional_headers=direct_handshake_headers(UA, TTWID),
                user_agent_header=None,
                ping_interval=None,
                compression=None,
            )
    response = info.value.response
    assert is_device_blocked(response.status_code, response.headers)
    error = direct_upgrade_error(response.status_code, response.headers, url)
    assert isinstance(error, DeviceBlockedError)
    assert TTWID not in str(error) and "ttwid=" not in str(error)
    # what TikTok received: the exact cookie, one UA, the browser headers
    request = seen[0]
    assert request.path.startswith(DIRECT_WS_PATH + "?")
    assert request.headers["Cookie"] == f"ttwid={TTWID}"
    assert request.headers.get_all("User-Agent") == [UA]
    assert request.headers["Origin"] == "https://www.tiktok.com"
    assert request.headers["Cache-Control"] == "no-cache"
    assert "Sec-WebSocket-Protocol" not in request.headers
    assert dict(parse_qsl(urlsplit(request.path).query))["room_id"] == str(ROOM)


async def test_generic_reject_is_not_device_blocked():
    def answer(request: Request) -> Response:
        return Response(400, "Bad Request", Headers([("Handshake-Msg", "parameter error")]), b"")

    async with _ws_server(answer, []) as server:
        port = server.sockets[0].getsockname()[1]
        url = build_direct_ws_url(f"ws://127.0.0.1:{port}", ROOM)
        with pytest.raises(InvalidStatus) as info:
            await connect(
                url, additional_headers=direct_handshake_headers(UA, TTWID), user_agent_header=None
            )
    response = info.value.response
    assert not is_device_blocked(response.status_code, response.headers)
    assert type(direct_upgrade_error(400, response.headers, url)) is WebcastBlockedError


async def test_open_socket_takes_hb_then_enter_room():
    seen: list[Request] = []
    async with _ws_server(lambda request: None, seen) as server:
        port = server.sockets[0].getsockname()[1]
        url = build_direct_ws_url(f"ws://127.0.0.1:{port}", ROOM)
        headers = direct_handshake_headers(UA, TTWID)
        async with connect(
            url, additional_headers=headers, user_agent_header=None, ping_interval=None
        ) as ws:
            first, second = fastlive.build_heartbeat(ROOM, 0), fastlive.build_enter_room(ROOM)
            await ws.send(first)
            await ws.send(second)
            assert await ws.recv() == first
            assert await ws.recv() == second
    assert seen[0].headers["Cookie"] == f"ttwid={TTWID}"


# -- api-live/user/room ----------------------------------------------------------------


def _json(status: int, body: object, headers: list[tuple[str, str]] | None = None) -> Response:
    data = json.dumps(body).encode()
    pairs = [("Content-Type", "application/json"), ("Content-Length", str(len(data)))]
    return Response(status, "OK", Headers(pairs + (headers or [])), data)


def _user_room(room_id: object = "7140000000000000001", live: int = 2, user_status: int = 2):
    user: dict[str, object] = {
        "id": "6800000000000000001",
        "uniqueId": "alice",
        "status": user_status,
    }
    if room_id is not None:
        user["roomId"] = room_id
    return {"statusCode": 0, "data": {"user": user, "liveRoom": {"status": live}}}


class _Web:
    """A loopback stand-in for www.tiktok.com's ``api-live/user/room``."""

    def __init__(self) -> None:
        self.answer: Response = _json(200, _user_room())
        self.requests: list[Request] = []
        self.url = ""

    def process_request(self, connection: ServerConnection, request: Request) -> Response:
        self.requests.append(request)
        return self.answer


@pytest.fixture
async def web():
    fake = _Web()

    async def handler(ws: ServerConnection) -> None:  # pragma: no cover - never upgraded
        await ws.close()

    async with serve(handler, "127.0.0.1", 0, process_request=fake.process_request) as server:
        fake.url = f"http://127.0.0.1:{server.sockets[0].getsockname()[1]}"
        async with httpx.AsyncClient(timeout=5.0) as http:
            yield fake, http


async def test_user_room_live(web):
    fake, http = web
    room = await fetch_direct_room(http, fake.url, "@alice", user_agent=UA)
    assert room == DirectRoom(room_id=ROOM, anchor_id=6800000000000000001, live=True)
    request = fake.requests[0]
    parts = urlsplit(request.path)
    assert parts.path == "/api-live/user/room"
    assert parse_qsl(parts.query) == [
        ("aid", "1988"),
        ("app_name", "tiktok_web"),
        ("device_platform", "web_pc"),
        ("app_language", "en"),
        ("browser_language", "en-US"),
        ("region", "US"),
        ("user_is_login", "false"),
        ("sourceType", "54"),
        ("staleTime", "600000"),
        ("uniqueId", "alice"),
    ]
    assert request.headers["User-Agent"] == UA
    assert request.headers["Referer"] == fake.url + "/"
    assert "Cookie" not in request.headers


@pytest.mark.parametrize(
    ("body", "expected"),
    [
        (_user_room(live=4, user_status=4), DirectRoom(ROOM, 6800000000000000001, False)),
        (_user_room(live=3, user_status=3), DirectRoom(ROOM, 6800000000000000001, False)),
        (_user_room(live=4, user_status=2), DirectRoom(ROOM, 6800000000000000001, True)),
        (_user_room(room_id="0"), DirectRoom(0, 6800000000000000001, False)),
        (_user_room(room_id=""), DirectRoom(0, 6800000000000000001, False)),
        (_user_room(room_id=None), DirectRoom(0, 6800000000000000001, False)),
        ({"statusCode": 0, "data": {"user": {"roomId": "5", "status": 2}}}, DirectRoom(5, 0, True)),
    ],
)
async def test_user_room_states(web, body, expected):
    fake, http = web
    fake.answer = _json(200, body)
    assert await fetch_direct_room(http, fake.url, "alice", user_agent=UA) == expected


@pytest.mark.parametrize(
    ("answer", "error", "status"),
    [
        (
            _json(200, {"statusCode": 19881007, "message": "user_not_found"}),
            UserNotFoundError,
            None,
        ),
        (_json(200, {"statusCode": 4003110, "data": {}}), AgeRestrictedError, 200),
        (_json(200, {"statusCode": 10011, "message": "params_error"}), WebError, 200),
        (_json(200, {"data": {}}), WebError, 200),
        (_json(403, {"statusCode": 0}), TikTokBlockedError, 403),
        (_json(429, {}, [("Retry-After", "7")]), RateLimitedError, 429),
        (
            Response(200, "OK", Headers([("Content-Type", "text/html")]), b"<html>captcha"),
            TikTokBlockedError,
            200,
        ),
        (_json(200, ["not", "an", "object"]), TikTokBlockedError, 200),
        (_json(502, {"statusCode": 5}), WebError, 502),
    ],
)
async def test_user_room_errors(web, answer, error, status):
    fake, http = web
    fake.answer = answer
    with pytest.raises(error) as info:
        await fetch_direct_room(http, fake.url, "alice", user_agent=UA)
    assert info.value.status == status
    if error is RateLimitedError:
        assert info.value.retry_after == 7.0
    if error is WebError:
        assert type(info.value) is WebError
    assert any(w in str(info.value) for w in ("try", "check", "log in", "wait"))  # says what to do


async def test_user_room_unreachable():
    async with httpx.AsyncClient(timeout=2.0) as http:
        with pytest.raises(WebError, match="Could not reach"):
            await fetch_direct_room(http, "http://127.0.0.1:9", "alice", user_agent=UA)
