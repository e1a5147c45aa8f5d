"""TikTokLive's event names (``TikTokLive.events``), as fastlive's event classes.

Every fastlive event is here under its own name, which is TikTokLive's.  The
TikTokLive base names map as closely as fastlive allows: ``ProtoEvent`` and
``WebsocketResponseEvent`` are ``BaseEvent`` (every decoded message), and
``CustomEvent`` is ``ClientEvent`` (events the client makes itself).
"""

from typing import Union

from fastlive.events import *  # the whole event namespace, by design
from fastlive.events import BaseEvent, ClientEvent
from fastlive.events import __all__ as _event_names

ProtoEvent = BaseEvent
WebsocketResponseEvent = BaseEvent
CustomEvent = ClientEvent
Event = Union[BaseEvent, ClientEvent]  # noqa: UP007  (a runtime alias, as in TikTokLive)

__all__ = ["CustomEvent", "Event", "ProtoEvent", "WebsocketResponseEvent"]
__all__.extend(_event_names)
