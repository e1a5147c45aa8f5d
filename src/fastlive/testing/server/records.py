"""What ``FakeTikTok`` records of its clients: HTTP requests, websocket connections and the
frames clients sent, so tests can assert on what a client did."""

from __future__ import annotations

import msgspec

__all__ = ["ClientFrame", "RecordedRequest", "WsConnection"]


class RecordedRequest(msgspec.Struct, kw_only=True):
    """One HTTP request the fake received (websocket upgrades included)."""

    method: str
    path: str
    query: dict[str, str]
    headers: dict[str, str]
    """Header names lower-cased."""
    cookies: dict[str, str]
    websocket: bool = False
    at: float = 0.0


class ClientFrame(msgspec.Struct, kw_only=True):
    """One binary websocket message a client sent, decoded.

    ``kind`` is the frame's ``payload_type`` (``hb``, ``ack``, ``im_enter_room``...);
    ``room_id`` comes from the heartbeat or join message, else the connection's room.
    """

    connection: int
    kind: str
    room_id: int
    log_id: int = 0
    internal_ext: str | None = None
    """For ``ack``: the payload as text."""
    seq: int | None = None
    """For ``hb``: ``send_packet_seq_id``."""
    raw: bytes = b""
    at: float = 0.0


class WsConnection(msgspec.Struct, kw_only=True):
    """One websocket connection: what the client asked for and what happened."""

    index: int
    room_id: int
    query: dict[str, str]
    headers: dict[str, str]
    cookies: dict[str, str]
    frames_sent: int = 0
    """``msg`` frames sent on this connection."""
    sent_log_ids: dict[int, str] = {}
    """log_id of each ``msg`` frame sent -> the ``internal_ext`` its ack must carry."""
    fault: str | None = None
    """``"drop"`` or ``"stall"`` when a fault hit this connection."""
    closed: bool = False
    direct: bool = False
    """A direct connection (``ws_reuse_supplement``, §2.8), not the signed push socket."""
    first_frames: list[str] = []
    """``payload_type`` of the client's first two frames (direct wants ``hb``, ``im_enter_room``)."""
    history_sent: int = 0
    """Messages re-sent on join (recent comments), on a direct connection."""
