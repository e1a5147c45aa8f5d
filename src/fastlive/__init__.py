"""fastlive: TikTok LIVE events in real time, decoded by compiled code.

The decode core is sans-I/O: ``decode`` turns one websocket binary message
into a ``Batch`` of events, and ``build_*`` make the frames a client sends.
"""

from fastlive._decode import (
    DEFAULT_MAX_INFLATED_SIZE,
    build_ack,
    build_enter_room,
    build_heartbeat,
    decode,
    decode_fetch_result,
    decode_message,
)
from fastlive.batch import Batch
from fastlive.client import EventStream, TikTokLiveClient
from fastlive.events import *  # noqa: F403  (the event names are the public API)
from fastlive.events import __all__ as _event_names
from fastlive.exceptions import *  # noqa: F403
from fastlive.exceptions import __all__ as _error_names

__version__ = "0.1.0"

__all__ = [
    "DEFAULT_MAX_INFLATED_SIZE",
    "Batch",
    "EventStream",
    "TikTokLiveClient",
    "build_ack",
    "build_enter_room",
    "build_heartbeat",
    "decode",
    "decode_fetch_result",
    "decode_message",
    *_event_names,
    *_error_names,
]
