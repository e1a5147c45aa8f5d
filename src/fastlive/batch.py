"""``Batch``: what one push frame (or the sign server's first fetch) holds."""

from __future__ import annotations

import msgspec

from fastlive.events import BaseEvent

__all__ = ["Batch"]


class Batch(msgspec.Struct, frozen=True, gc=False):
    """One decoded ``WebcastPushFrame`` and the ``ProtoMessageFetchResult`` inside it.

    The header fields are what a client needs to answer: ``need_ack`` asks for
    an ack carrying ``log_id`` and ``internal_ext``. ``events`` is empty for
    frames that are not ``msg`` frames (server heartbeats, join replies).
    """

    log_id: int = 0
    seq_id: int = 0
    payload_type: str = ""
    need_ack: bool = False
    internal_ext: str = ""
    cursor: str = ""
    is_first: bool = False
    route_params: dict[str, str] = {}
    push_server: str = ""
    fetch_interval: int = 0
    now: int = 0
    heartbeat_duration: int = 0
    events: list[BaseEvent] = []
