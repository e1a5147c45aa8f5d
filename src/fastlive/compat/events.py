"""TikTokLive's event names (``TikTokLive.events``), as fastlive's event classes.

Every fastlive event is here under its own name, which is TikTokLive's.  The
TikTokLive base names map as closely as fastlive allows: ``ProtoEvent`` is
``BaseEvent`` (every decoded message) and ``CustomEvent`` is ``ClientEvent``
(events the client makes itself).  :class:`WebsocketResponseEvent` is its own
class, as in TikTokLive: one per message, carrying the fetch result it came in.
"""

from typing import Union

import msgspec

from fastlive.batch import Batch
from fastlive.events import *  # the whole event namespace, by design
from fastlive.events import BaseEvent, ClientEvent
from fastlive.events import __all__ as _event_names

ProtoEvent = BaseEvent
CustomEvent = ClientEvent
Event = Union[BaseEvent, ClientEvent]  # noqa: UP007  (a runtime alias, as in TikTokLive)


class WebsocketResponseEvent(msgspec.Struct, frozen=True):
    """TikTokLive's ``WebsocketResponseEvent``: dispatched before each message's event.

    ``raw`` is the decoded fetch result (:class:`fastlive.Batch`) the message came
    in: ``cursor``, ``internal_ext``, ``route_params`` (TikTokLive's ``ws_params``),
    ``fetch_interval``, ``now``, ``need_ack`` and ``events`` (the messages).  Only a
    ``fastlive.compat`` client makes these, only while a handler listens to them,
    and only for its handlers (not ``events()`` or sinks).  A message dropped as a
    duplicate (a rejoin's re-sent history) gets none.
    """

    raw: Batch

    @classmethod
    def get_type(cls) -> str:
        """The class name (TikTokLive's ``Event.get_type()``)."""
        return cls.__name__


__all__ = ["CustomEvent", "Event", "ProtoEvent", "WebsocketResponseEvent"]
__all__.extend(_event_names)
