"""``FakeTikTok``: TikTok, its sign server and its push websocket on loopback.

One asyncio server on ``127.0.0.1`` (a free port) answers as:

* TikTok's web pages and web API: ``/@{uid}/live`` (HTML with ``SIGI_STATE``),
  ``/api-live/user/room/``;
* the webcast JSON API: ``/webcast/room/check_alive/``, ``/webcast/room/info/``,
  ``/webcast/gift/list/``;
* a sign server: ``/webcast/fetch`` answers a raw ``ProtoMessageFetchResult``
  whose ``push_server`` is this server's own ``ws://`` URL, plus ``X-Set-TT-Cookie``;
* the push websocket ``/webcast/im/push/v2/``: gzip ``msg`` frames with
  ``need_ack``, server ``hb`` frames, answers to heartbeats and room joins;
* the direct connection of protocol.md §2.8: profile pages (``/@{uid}``, ``/``)
  that set a ``ttwid`` cookie on a configurable fraction of requests and
  otherwise serve the challenge page (200, no cookie, ``X-TT-System-Error: 3``),
  and the direct websocket ``/webcast/im/ws_proxy/ws_reuse_supplement/``, which
  wants a minted ``ttwid`` and a user agent, waits for the room join before it
  sends anything, re-sends recent comments on each join (``history=``), and can
  answer DEVICE_BLOCKED in both shapes seen (``device_blocked=``);
* the live video: an :class:`~fastlive.testing.flv.FLVServer` serving rooms
  added with ``video=``, whose URLs room info carries in ``stream_url``.

Traffic is scripted per room, faults are keywords of :meth:`FakeTikTok.add_room`,
and everything a client sends is recorded (``requests``, ``ws_connections``,
``ws_received``).  It speaks the real protocol, so any client can be tested
against it, fastlive or not::

    from fastlive import CommentEvent
    from fastlive.client import TikTokLiveClient
    from fastlive.testing import FakeTikTok, chat, gift

    async def test_my_bot():
        async with FakeTikTok() as fake:
            fake.add_room("alice", room_id=7001, frames=[
                [chat("hello", msg_id=1)],           # one batch = one websocket frame
                [gift(msg_id=2), chat("bye", msg_id=3)],
            ], ends=True)                            # then a stream end, close 1000
            client = TikTokLiveClient("@alice", settings=fake.settings())
            comments = [e.comment async for e in client.events()
                        if isinstance(e, CommentEvent)]
            assert comments == ["hello", "bye"]
            assert len(fake.acks(7001)) >= 2         # what the client acknowledged

A message in a batch is a ``(method, payload, msg_id)`` tuple, or a bare payload
from a :mod:`fastlive.testing.factory` builder (method and msg_id are then read
from its ``common``; give each one its own ``msg_id=``, since clients drop
duplicates).  A traffic item is a batch or a recorded frame (raw ``bytes``, sent
as they are).  A new connection to a room resumes after the last frame sent.

``FakeTikTok.settings()`` points every URL at the fake, the direct websocket
host (``ws_url``) included.  The websocket never sends library pings (TikTok
does not) and accepts none of the ``permessage-deflate`` extension.  ``strict=True`` (the default) makes the
upgrade check what TikTok checks: the signed token (``wrss``) from the route
params, the user agent that was signed, and the session cookie when the fetch
was authenticated.

One module per job, all re-exported here: :mod:`~fastlive.testing.server.fake` (``FakeTikTok``:
state, scripting, recordings, routing), :mod:`~fastlive.testing.server.room` (``FakeRoom``),
:mod:`~fastlive.testing.server.records` (what is recorded), the routes
(:mod:`~fastlive.testing.server.web`, :mod:`~fastlive.testing.server.webcast`,
:mod:`~fastlive.testing.server.sign`), the WAF (:mod:`~fastlive.testing.server.waf`), the websocket (:mod:`~fastlive.testing.server.handshake`,
:mod:`~fastlive.testing.server.push`) and :mod:`~fastlive.testing.server.responses`. The route
modules are ``FakeTikTok``'s insides: each function takes the fake and shares its private state.
The video is :mod:`fastlive.testing.flv`.
"""

from fastlive.testing.server.fake import FakeTikTok
from fastlive.testing.server.handshake import (
    DEVICE_BLOCKED_STATUS as DEVICE_BLOCKED_STATUS,
)
from fastlive.testing.server.handshake import DIRECT_PATH as DIRECT_PATH
from fastlive.testing.server.handshake import PUSH_PATH as PUSH_PATH
from fastlive.testing.server.push import JOIN_TIMEOUT as JOIN_TIMEOUT
from fastlive.testing.server.records import ClientFrame, RecordedRequest, WsConnection
from fastlive.testing.server.room import CONTROL_STREAM_ENDED as CONTROL_STREAM_ENDED
from fastlive.testing.server.room import SIGN_FAULT_NAMES as SIGN_FAULT_NAMES
from fastlive.testing.server.room import FakeRoom
from fastlive.testing.server.room import SignFault as SignFault
from fastlive.testing.server.sign import SignPlan
from fastlive.testing.server.waf import WAF_PAGE as WAF_PAGE
from fastlive.testing.server.waf import Waf, WafHit, WafRules
from fastlive.testing.server.web import CHALLENGE_ERROR as CHALLENGE_ERROR
from fastlive.testing.server.webcast import DEFAULT_GIFTS as DEFAULT_GIFTS
from fastlive.testing.server.webcast import VIDEO_QUALITIES as VIDEO_QUALITIES

__all__ = [
    "ClientFrame",
    "FakeRoom",
    "FakeTikTok",
    "RecordedRequest",
    "SignPlan",
    "Waf",
    "WafHit",
    "WafRules",
    "WsConnection",
]
