"""What Python can call in the compiled decoder (``_decode.pyx``)."""

from fastlive.batch import Batch
from fastlive.events import BaseEvent

DEFAULT_MAX_INFLATED_SIZE: int
SPECIALISED_METHODS: frozenset[str]

def decode(data: bytes, *, max_inflated_size: int = ...) -> Batch: ...
def decode_fetch_result(data: bytes, *, max_inflated_size: int = ...) -> Batch: ...
def decode_message(method: str, payload: bytes) -> BaseEvent:
    """One message payload of ``method``; TypeError for None or other types (never read)."""

def build_heartbeat(room_id: int, seq: int = 1) -> bytes: ...
def build_enter_room(
    room_id: int,
    *,
    enter_unique_id: int = 0,
    cursor: str = "",
    live_id: int = 12,
    identity: str = "audience",
    filter_welcome_msg: str = "0",
    room_tag: str = "",
    live_region: str = "",
    account_type: int = 0,
) -> bytes: ...
def build_ack(log_id: int, internal_ext: str | bytes) -> bytes: ...
