"""TikTokLive scripts run on fastlive with only their imports changed.

The scripts below are written for TikTokLive 7 (decorators, ``add_listener``,
``client.run()``, TikTokLive's attribute names); the test swaps the imports
for ``fastlive.compat`` and runs them against ``FakeTikTok``, found through
the same environment variables a user would set (``SIGN_API_URL``...).
"""

from __future__ import annotations

import asyncio
import json
import logging
import runpy
from collections.abc import Callable
from contextlib import AbstractContextManager
from pathlib import Path

import pytest

import fastlive.exceptions as fl_errors
from fastlive.batch import Batch
from fastlive.compat import TikTokLiveClient
from fastlive.compat import errors as compat_errors
from fastlive.compat import events as compat_events
from fastlive.events import BaseEvent, ClientEvent, CommentEvent
from fastlive.testing import FakeTikTok, chat, gift, like, make_user, member, social_follow

ROOM = 7_400_000_000_000_000_999

TIKTOKLIVE_SCRIPT = """
from TikTokLive import TikTokLiveClient
from TikTokLive.events import (
    CommentEvent, ConnectEvent, DisconnectEvent, FollowEvent, GiftEvent, JoinEvent, LikeEvent,
    LiveEndEvent,
)

client: TikTokLiveClient = TikTokLiveClient(unique_id="@alice")


@client.on(ConnectEvent)
async def on_connect(event: ConnectEvent):
    print(f"Connected to @{event.unique_id} (Room ID: {client.room_id})")
    info = await client.web.fetch_room_info()
    print(f"{event.get_type()}: owner @{info['owner']['display_id']}")


async def on_comment(event: CommentEvent) -> None:
    print(f"{event.user.nickname} -> {event.comment}")


@client.on(GiftEvent)
async def on_gift(event: GiftEvent):
    if event.gift.streakable and not event.streaking:
        print(f"{event.user.unique_id} sent {event.repeat_count}x \\"{event.gift.name}\\"")
    elif not event.gift.streakable:
        print(f"{event.user.unique_id} sent \\"{event.gift.name}\\"")


@client.on(LikeEvent)
def on_like(event: LikeEvent):
    print(f"{event.user.nickname} liked {event.count} times, total {event.total}")


@client.on(JoinEvent)
async def on_join(event: JoinEvent):
    print(f"{event.user.unique_id} joined")


@client.on(FollowEvent)
async def on_follow(event: FollowEvent):
    print(f"{event.user.nickname} followed")


@client.on(LiveEndEvent)
async def on_end(event: LiveEndEvent):
    print("The stream ended")


@client.on(DisconnectEvent)
async def on_disconnect(event: DisconnectEvent):
    print("Disconnected")


client.add_listener(CommentEvent, on_comment)

if __name__ == "__main__":
    print("live:", client.has_listener(CommentEvent))
    client.run()
"""

TIKTOKLIVE_ASYNC_SCRIPT = """
import asyncio

from TikTokLive import TikTokLiveClient
from TikTokLive.client.errors import UserOfflineError
from TikTokLive.events import CommentEvent, ConnectEvent

client = TikTokLiveClient(unique_id="bob")
client.on(CommentEvent, lambda event: print(event.comment))


async def check_loop():
    try:
        await client.connect(fetch_room_info=True)
    except UserOfflineError:
        print("bob is offline")
    print("is live:", await client.is_live())


asyncio.run(check_loop())
"""


def to_fastlive(script: str) -> str:
    """Change only the imports, as a user would."""
    return (
        script.replace("from TikTokLive import ", "from fastlive.compat import ")
        .replace("from TikTokLive.events import ", "from fastlive.compat.events import ")
        .replace("from TikTokLive.client.errors import ", "from fastlive.compat.errors import ")
    )


def point_at(fake: FakeTikTok, monkeypatch: pytest.MonkeyPatch) -> None:
    """The environment a user sets to use another TikTok / sign server."""
    monkeypatch.setenv("FASTLIVE_WEB_URL", fake.web_url)
    monkeypatch.setenv("FASTLIVE_WEBCAST_URL", fake.webcast_url)
    monkeypatch.setenv("SIGN_API_URL", fake.sign_api_url)
    monkeypatch.setenv("FASTLIVE_WS_URL", fake.ws_url)  # the direct websocket (auto mode)


def traffic() -> list:
    carol = make_user(7_300_000_000_000_000_321, "Carol Singer", "carol.sings")

    def m(method, build, msg_id, *args, **kwargs):
        return (method, build(*args, msg_id=msg_id, room_id=ROOM, **kwargs), msg_id)

    return [
        [m("WebcastMemberMessage", member, 1, carol)],
        [m("WebcastChatMessage", chat, 2, "first!", carol)],
        [m("WebcastGiftMessage", gift, 3, repeat_count=1, repeat_end=0, user=carol)],
        [m("WebcastGiftMessage", gift, 4, repeat_count=5, repeat_end=1, user=carol)],
        [m("WebcastGiftMessage", gift, 5, 6267, "Corgi", 299, 2, carol)],
        [m("WebcastLikeMessage", like, 6, 7, 99, carol)],
        [m("WebcastSocialMessage", social_follow, 7, carol)],
        [m("WebcastChatMessage", chat, 8, "bye", carol)],
    ]


def test_the_original_script_is_tiktoklive_code():
    compile(TIKTOKLIVE_SCRIPT, "tiktoklive_script.py", "exec")
    changed = to_fastlive(TIKTOKLIVE_SCRIPT)
    differing = [
        (a, b)
        for a, b in zip(TIKTOKLIVE_SCRIPT.splitlines(), changed.splitlines(), strict=True)
        if a != b
    ]
    assert len(differing) == 2 and all(a.startswith("from TikTokLive") for a, _ in differing)


def run_script(source: str, tmp_path: Path) -> None:
    """Run a script file as ``python script.py`` would (``__name__ == "__main__"``)."""
    path = tmp_path / "script.py"
    path.write_text(source)
    runpy.run_path(str(path), run_name="__main__")


def test_a_tiktoklive_script_runs_with_only_its_imports_changed(
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    tmp_path: Path,
    fake_in_thread: Callable[..., AbstractContextManager[FakeTikTok]],
):
    with fake_in_thread(alice={"room_id": ROOM, "frames": traffic(), "ends": True}) as fake:
        point_at(fake, monkeypatch)
        run_script(to_fastlive(TIKTOKLIVE_SCRIPT), tmp_path)
    # Handlers run in arrival order, sync and async alike (on_connect awaits an HTTP
    # request; everything after it waits its turn), however loaded the machine is.
    assert capsys.readouterr().out.splitlines() == [
        "live: True",
        f"Connected to @alice (Room ID: {ROOM})",
        "ConnectEvent: owner @alice",
        "carol.sings joined",
        "Carol Singer -> first!",
        'carol.sings sent 5x "Rose"',
        'carol.sings sent "Corgi"',
        "Carol Singer liked 7 times, total 99",
        "Carol Singer followed",
        "Carol Singer -> bye",
        "The stream ended",
        "Disconnected",
    ]


def test_an_async_tiktoklive_script_and_its_errors(
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    tmp_path: Path,
    fake_in_thread: Callable[..., AbstractContextManager[FakeTikTok]],
):
    with fake_in_thread(bob={"room_id": ROOM, "live": False}) as fake:
        point_at(fake, monkeypatch)
        run_script(to_fastlive(TIKTOKLIVE_ASYNC_SCRIPT), tmp_path)
    assert capsys.readouterr().out.splitlines() == ["bob is offline", "is live: False"]


def test_error_names_are_fastlive_errors():
    assert compat_errors.UserOfflineError is fl_errors.UserOfflineError
    assert compat_errors.UserNotFoundError is fl_errors.UserNotFoundError
    assert compat_errors.WebcastBlockedError is fl_errors.WebcastBlockedError
    assert compat_errors.SignatureRateLimitError is fl_errors.SignatureRateLimitError
    assert compat_errors.AlreadyConnectedError is fl_errors.AlreadyConnectedError
    assert compat_errors.SignAPIError is fl_errors.SignAPIError
    assert issubclass(compat_errors.SignatureRateLimitError, compat_errors.TikTokLiveError)


def test_event_names_cover_tiktoklive():
    tiktoklive_events = pytest.importorskip("TikTokLive.events")
    names = {n for n in dir(tiktoklive_events) if n.endswith("Event") and n[0].isupper()}
    missing = sorted(n for n in names if not hasattr(compat_events, n))
    assert missing == []
    assert compat_events.CommentEvent is CommentEvent
    assert compat_events.ProtoEvent is BaseEvent and compat_events.CustomEvent is ClientEvent


async def test_the_tiktoklive_constructor(caplog: pytest.LogCaptureFixture):
    with caplog.at_level(logging.WARNING, logger="fastlive.compat"):
        client = TikTokLiveClient(
            "https://www.tiktok.com/@alice/live",
            None,
            None,
            None,
            {"headers": {"X-Test": "1"}, "timeout": 3},
        )
    assert client.unique_id == "alice"
    assert TikTokLiveClient.parse_unique_id("@alice") == "alice"
    assert "timeout" in caplog.text
    await client.aclose()


# -- is_user_id: a numeric user id instead of the @handle ----------------------------------------

USER_ID = 6_900_000_000_000_000_123


def profile_page(user: dict | None) -> bytes:
    """A profile page as TikTok serves it, its user in ``__UNIVERSAL_DATA_FOR_REHYDRATION__``."""
    scope = {"webapp.user-detail": {"userInfo": {"user": user}}} if user else {}
    state = json.dumps({"__DEFAULT_SCOPE__": scope})
    return (
        "<!DOCTYPE html><html><body>"
        f'<script id="__UNIVERSAL_DATA_FOR_REHYDRATION__" type="application/json">{state}'
        "</script></body></html>"
    ).encode()


async def test_is_user_id_looks_the_handle_up_from_the_profile_page():
    async with FakeTikTok() as fake:
        fake.add_room("alice", room_id=ROOM, user_id=USER_ID, frames=traffic()[:2], ends=True)
        page = profile_page({"id": str(USER_ID), "uniqueId": "alice"})
        fake.fail_next(f"/@{USER_ID}", 200, headers={"Content-Type": "text/html"}, body=page)
        client = TikTokLiveClient(USER_ID, is_user_id=True, settings=fake.settings())
        assert client.unique_id == str(USER_ID)  # as in TikTokLive: resolved by start()
        got: list[str] = []
        client.on(CommentEvent)(lambda e: got.append(e.comment))
        await client.connect()
        await client.aclose()
        pages = [r.path for r in fake.requests if r.path.startswith("/@")]
    assert client.unique_id == "alice" and got == ["first!"]
    assert pages[0] == f"/@{USER_ID}" and pages.count(f"/@{USER_ID}") == 1


async def test_is_user_id_errors_and_plain_digits():
    async with FakeTikTok() as fake:
        fake.add_room("alice", room_id=ROOM, user_id=USER_ID)
        settings = fake.settings()
        # a profile page naming nobody: no such user
        fake.fail_next(f"/@{USER_ID}", 200, body=profile_page(None))
        client = TikTokLiveClient(USER_ID, is_user_id=True, settings=settings)
        with pytest.raises(fl_errors.UserNotFoundError, match=str(USER_ID)):
            await client.start()
        # a page without the user data (a challenge page): a WebError that says so
        with pytest.raises(fl_errors.WebError, match="no readable user data"):
            await client.is_live()
        # is_live(user id) resolves the id it is given
        fake.fail_next(f"/@{USER_ID}", 200, body=profile_page({"uniqueId": "alice"}))
        assert await client.is_live(str(USER_ID))
        await client.aclose()
        # without is_user_id, digits are a handle, and no profile page is asked for
        before = len(fake.requests)
        digits = TikTokLiveClient(str(USER_ID), settings=settings)
        with pytest.raises(fl_errors.UserNotFoundError):
            await digits.start()
        assert not [r for r in fake.requests[before:] if r.path == f"/@{USER_ID}"]
        await digits.aclose()


# -- WebsocketResponseEvent: the fetch result each message came in ---------------------------------


async def test_websocket_response_events_carry_each_fetch_result():
    frames = traffic()
    frames = [frames[0] + frames[1], *frames[2:]]  # two messages in the first frame
    async with FakeTikTok() as fake:
        fake.add_room("alice", room_id=ROOM, frames=frames, initial=frames[0][:1], ends=True)
        client = TikTokLiveClient("alice", settings=fake.settings(connect="signed"))
        log: list[tuple[str, object]] = []
        client.on(compat_events.WebsocketResponseEvent)(lambda e: log.append(("response", e)))
        client.on(BaseEvent)(lambda e: log.append(("event", e)))
        streamed: list = []

        async def consume() -> None:
            async for event in client.events():
                streamed.append(event)

        consumer = asyncio.ensure_future(consume())
        await client.connect()
        await consumer
        await client.aclose()

    # one response before each message's event, with the fetch result it came in
    assert [kind for kind, _ in log] == ["response", "event"] * (len(log) // 2)
    pairs = [(log[i][1], log[i + 1][1]) for i in range(0, len(log), 2)]
    for response, event in pairs:
        assert isinstance(response.raw, Batch) and response.get_type() == "WebsocketResponseEvent"
        assert event.msg_id in [e.msg_id for e in response.raw.events]
    ids = [event.msg_id for _, event in pairs]
    assert ids[:8] == list(range(1, 9)) and len(ids) == 9  # then the stream end
    initial, first_frame = pairs[0][0].raw, pairs[1][0].raw
    assert [e.msg_id for e in initial.events] == [1]  # the sign server's first batch
    assert [e.msg_id for e in first_frame.events] == [1, 2]  # msg 1 again: a duplicate
    assert pairs[2][0].raw is not first_frame and first_frame.log_id
    # only handlers see them: not events(), not the counters
    assert not any(isinstance(e, compat_events.WebsocketResponseEvent) for e in streamed)
    assert "WebsocketResponseEvent" not in client.stats.events
