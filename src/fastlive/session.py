"""The protocol brain of one room connection, with no I/O (sans-I/O).

A :class:`Session` is fed what the socket and the sign server delivered and
hands back the events to dispatch and the bytes to write.  It owns no socket,
no clock, no logger and no event loop, so every rule of the protocol is
testable with plain bytes; the client (``fastlive.client``) is a mechanical
loop around it.

The contract, in the order the client calls it::

    session = Session(room_id, unique_id="someone")
    session.opened()                 # the websocket is open: queues im_enter_room
    session.receive_initial(batch)   # the sign server's first batch (never acked)
    session.heartbeat()              # every heartbeat period: queues an hb frame
    session.receive(message)         # each binary websocket message
    session.events_received()        # drain: events to dispatch, in order
    session.data_to_send()           # drain: frames to write, in order
    session.closed()                 # the socket went away; opened() again to resume

``Session(room_id, direct=True)`` speaks the direct connection of protocol.md
§2.8.6 instead: ``opened()`` queues an ``hb`` (no sequence number) *then*
``im_enter_room`` (``enter_unique_id`` 0), every heartbeat carries no sequence
number, a batch is acked only when its ``internal_ext`` is non-empty, and there
is no initial batch.

One Session spans a whole client run, reconnects included, so its ``msg_id``
de-duplication window covers the initial batch, the websocket and every
reconnect: nothing already delivered is delivered twice.

Theory of operation, every state rule in this file::

    CONNECTING --opened()--> OPEN --closed()--> CLOSED --opened()--> OPEN ...
         any state --LiveEndEvent received--> ENDED (terminal: input ignored)

- ``ConnectEvent`` is the first event, emitted once, on the first ``opened()``.
- Each ``msg`` frame whose batch has ``need_ack`` is acked with the frame's
  ``log_id`` and the batch's ``internal_ext`` (``"-"`` when empty, as
  TikTokLive does; direct: no ack when empty); the initial batch is never
  acked (it came over HTTP).
- Frames other than ``msg`` are ignored (server ``hb``...), except the events that an
  ``im_enter_room_resp`` carries (room message, intro, welcome), which are delivered.
- A frame that does not decode at all becomes an ``ErrorEvent(source="decode")``;
  the connection goes on.  One bad message inside a good batch is the
  decoder's ``DecodeErrorEvent``, passed through like any other event.
- A ``LiveEndEvent`` ends the session: the rest of its batch is delivered,
  then the state is ENDED and later input is ignored.
"""

from __future__ import annotations

import itertools
import random
from collections import deque
from collections.abc import Callable, Iterator
from enum import IntEnum
from typing import Any

from fastlive._config import DEFAULT_DEDUP_WINDOW, DEFAULT_MAX_INFLATED_SIZE
from fastlive._decode import build_ack, build_enter_room, build_heartbeat, decode
from fastlive.events import ConnectEvent, ErrorEvent, LiveEndEvent
from fastlive.exceptions import DecodeError

# Kinds of raw frames, as frame listeners see them and recordings store them.
FRAME = 1
"""A websocket binary message from the server, before it is decoded."""
FETCH = 2
"""The sign server's initial fetch result (signed connections)."""
SENT = 3
"""A frame the client sent (enter room, ack, heartbeat)."""
META = 4
"""A JSON object about the recording (room id, handle, version, mode)."""

__all__ = [
    "CLOSED",
    "CONNECTING",
    "ENDED",
    "FETCH",
    "FRAME",
    "META",
    "OPEN",
    "SENT",
    "Session",
    "State",
    "backoff",
    "backoff_delay",
    "jittered",
    "parse_handshake_options",
]

_MAX_ENTER_UNIQUE_ID = 2**63 - 1
_EMPTY_ACK = "-"
_MSG = "msg"
_JOINED = "im_enter_room_resp"  # the join's answer: its batch holds room, intro, welcome


class State(IntEnum):
    """Where a :class:`Session` stands; transitions are drawn in the module docstring."""

    CONNECTING = 0
    """Created; no websocket has opened yet."""
    OPEN = 1
    """A websocket is open and the room join was queued."""
    CLOSED = 2
    """The websocket went away; ``opened()`` resumes on a new one."""
    ENDED = 3
    """The stream ended (``LiveEndEvent``): terminal, all input is ignored."""


CONNECTING = State.CONNECTING
OPEN = State.OPEN
CLOSED = State.CLOSED
ENDED = State.ENDED


class Session:
    """Sans-I/O state of one room: joins, heartbeats, acks, de-duplication, stream end.

    Args:
        room_id: the room to join.
        unique_id: the host's handle, carried by ``ConnectEvent``.
        dedup_window: how many recent ``msg_id`` values are remembered to drop repeats.
        max_inflated_size: bound on a gzip payload once inflated (decompression bombs).
        rng: source of the random ``enter_unique_id`` (a ``random.Random``; injectable
            so tests are deterministic).
        direct: speak the direct connection (§2.8.6): heartbeat before the join, no
            heartbeat sequence, no ack for an empty ``internal_ext``.
    """

    def __init__(
        self,
        room_id: int,
        *,
        unique_id: str = "",
        dedup_window: int = DEFAULT_DEDUP_WINDOW,
        max_inflated_size: int = DEFAULT_MAX_INFLATED_SIZE,
        rng: random.Random | None = None,
        direct: bool = False,
    ) -> None:
        if dedup_window < 1:
            raise ValueError("dedup_window must be at least 1")
        self.room_id = int(room_id)
        self.unique_id = unique_id
        self.state = State.CONNECTING
        self.max_inflated_size = max_inflated_size
        self.direct = direct
        self._rng = rng or random.Random()
        self._seq = 0
        self._events: list[Any] = []
        self._outgoing: list[bytes] = []
        self._seen: set[int] = set()
        self._order: deque[int] = deque()
        self._window = dedup_window
        self.batches_received = 0
        """``msg`` frames received since the last ``opened()`` (the client resets backoff on >0)."""
        self.duplicates_dropped = 0
        """Messages dropped as already delivered, over the whole session."""
        self.cursor = ""
        """The latest batch cursor seen (opaque; kept for a future re-fetch)."""

    # -- inputs ------------------------------------------------------------

    def opened(self) -> None:
        """Tell the session a websocket is open.

        Queues the ``im_enter_room`` frame (with a fresh random ``enter_unique_id``)
        and resets the heartbeat sequence; the first call also emits ``ConnectEvent``.
        A direct session queues an ``hb`` first and joins with ``enter_unique_id`` 0.
        ``direct`` may be changed between sockets (``auto`` mode switching).
        Next: write ``data_to_send()``, then feed ``receive_initial()`` / ``receive()``.
        """
        if self.state is State.ENDED:
            return
        if self.state is State.CONNECTING:
            self._events.insert(0, ConnectEvent(unique_id=self.unique_id, room_id=self.room_id))
        self.state = State.OPEN
        self._seq = 0
        self.batches_received = 0
        if self.direct:
            self._outgoing.append(build_heartbeat(self.room_id, 0))
            self._outgoing.append(build_enter_room(self.room_id))
            return
        enter_unique_id = self._rng.randint(1, _MAX_ENTER_UNIQUE_ID)
        self._outgoing.append(build_enter_room(self.room_id, enter_unique_id=enter_unique_id))

    def closed(self) -> None:
        """Tell the session the websocket went away; call ``opened()`` on the next one."""
        if self.state is State.OPEN:
            self.state = State.CLOSED

    def receive_initial(self, batch: Any) -> None:
        """Feed the sign server's initial batch (a decoded ``Batch``).

        Its events are de-duplicated like any others (a reconnect fetches an
        overlapping backlog).  It is never acked.  Next: drain ``events_received()``.
        """
        if self.state is State.ENDED:
            return
        self._accept(batch.events)
        if batch.cursor:
            self.cursor = batch.cursor

    def receive(self, data: bytes) -> None:
        """Feed one binary websocket message (one push frame).

        Next: drain ``data_to_send()`` (an ack, if the batch asked for one) and
        ``events_received()``.
        """
        if self.state is State.ENDED:
            return
        try:
            batch = decode(data, max_inflated_size=self.max_inflated_size)
        except DecodeError as exc:
            self._events.append(ErrorEvent(error=repr(exc), source="decode", exception=exc))
            return
        if batch.payload_type != _MSG:
            if batch.payload_type == _JOINED and batch.events:
                self._accept(batch.events)
            return
        self.batches_received += 1
        if batch.need_ack:
            if batch.internal_ext:
                self._outgoing.append(build_ack(batch.log_id, batch.internal_ext))
            elif not self.direct:
                self._outgoing.append(build_ack(batch.log_id, _EMPTY_ACK))
        if batch.cursor:
            self.cursor = batch.cursor
        self._accept(batch.events)

    def heartbeat(self) -> None:
        """Queue one ``hb`` frame (sequence 1, 2, ... since the last ``opened()``;
        none in a direct session).

        Does nothing unless a websocket is open.  Next: write ``data_to_send()``.
        """
        if self.state is not State.OPEN:
            return
        if self.direct:
            self._outgoing.append(build_heartbeat(self.room_id, 0))
            return
        self._seq += 1
        self._outgoing.append(build_heartbeat(self.room_id, self._seq))

    # -- outputs -----------------------------------------------------------

    def events_received(self) -> list[Any]:
        """Drain the events to dispatch, oldest first (``ConnectEvent`` always first).

        Before the first ``opened()`` nothing is released, so a backlog fed early
        still follows ``ConnectEvent``.
        """
        if self.state is State.CONNECTING or not self._events:
            return []
        events, self._events = self._events, []
        return events

    def data_to_send(self) -> list[bytes]:
        """Drain the frames to write to the websocket, oldest first."""
        if not self._outgoing:
            return []
        frames, self._outgoing = self._outgoing, []
        return frames

    @property
    def ended(self) -> bool:
        """True once the stream ended; the client stops and does not reconnect."""
        return self.state is State.ENDED

    # -- internals ---------------------------------------------------------

    def _accept(self, events: list[Any]) -> None:
        """Append new events, dropping already-seen ``msg_id`` values; spot the stream end."""
        seen = self._seen
        order = self._order
        out = self._events
        ended = False
        for event in events:
            msg_id = event.msg_id
            if msg_id:
                if msg_id in seen:
                    self.duplicates_dropped += 1
                    continue
                seen.add(msg_id)
                order.append(msg_id)
                if len(order) > self._window:
                    seen.discard(order.popleft())
            out.append(event)
            if type(event) is LiveEndEvent:
                ended = True
        if ended:
            self.state = State.ENDED


def backoff(
    initial: float,
    factor: float,
    max: float,
    jitter: float = 0.5,
    *,
    rand: Callable[[], float] = random.random,
) -> Iterator[float]:
    """Yield reconnection delays: ``initial * factor**n`` capped at ``max``, jittered.

    Each delay is scaled by a random factor in ``[1 - jitter, 1 + jitter]`` (and
    still capped at ``max``), so many clients dropped at once do not come back
    at once.  Infinite: the caller counts attempts.  The n-th delay (from 1) is
    ``backoff_delay(n, ...)``, for callers that keep the count themselves.
    """
    _check_jitter(jitter)
    for attempt in itertools.count(1):
        yield backoff_delay(attempt, initial, factor, max, jitter, rand=rand)


def backoff_delay(
    attempt: int,
    initial: float,
    factor: float,
    max: float,
    jitter: float = 0.5,
    *,
    rand: Callable[[], float] = random.random,
) -> float:
    """The delay before reconnect ``attempt`` (1, 2, ...): the one ``backoff()`` yields n-th.

    ``min(initial * factor**(attempt - 1), max)``, jittered (:func:`jittered`),
    then capped at ``max`` again: never longer than ``max``.
    """
    cap = max  # the parameter shadows the builtin
    try:
        delay = initial * factor ** (attempt - 1 if attempt > 1 else 0)
    except OverflowError:  # a long run of failures: the cap
        delay = cap
    return min(jittered(min(delay, cap), jitter, rand=rand), cap)


def jittered(delay: float, jitter: float, *, rand: Callable[[], float] = random.random) -> float:
    """``delay`` scaled by a random factor in ``[1 - jitter, 1 + jitter]`` (0: unchanged)."""
    _check_jitter(jitter)
    if not jitter:
        return delay
    return delay * (1 - jitter + 2 * jitter * rand())


def _check_jitter(jitter: float) -> None:
    if not 0 <= jitter <= 1:
        raise ValueError("jitter must be between 0 and 1")


def parse_handshake_options(value: str) -> dict[str, str]:
    """Parse the ``Handshake-Options`` response header (cookie-style ``k=v; k2=v2``)."""
    options: dict[str, str] = {}
    for part in value.split(";"):
        key, sep, val = part.strip().partition("=")
        if sep and key:
            options[key.strip()] = val.strip().strip('"')
    return options
