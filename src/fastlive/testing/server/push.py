"""The push websockets once upgraded: send each room's scripted frames (gzip ``msg`` frames
that need an ack, server ``hb``, the stream end), inject drops and stalls, record what the
client sends and answer its heartbeats and joins; direct sockets wait for the join first."""

from __future__ import annotations

import asyncio
import time
from typing import TYPE_CHECKING, Any

from websockets.exceptions import ConnectionClosed

from fastlive.proto import webcast_pb2 as pb
from fastlive.testing.factory.wire import fetch_result, message_parts, push_frame
from fastlive.testing.server.records import ClientFrame, WsConnection
from fastlive.testing.server.responses import int_or
from fastlive.testing.server.room import FakeRoom, stream_end

if TYPE_CHECKING:
    from websockets.asyncio.server import ServerConnection

    from fastlive.testing.server.fake import FakeTikTok

__all__ = ["JOIN_TIMEOUT", "REPLIES", "build_frame", "handle_ws"]

JOIN_TIMEOUT = 5.0
"""Seconds a direct connection waits for ``im_enter_room`` before it closes."""
_CHAT = "WebcastChatMessage"


def _frame(payload_type: str) -> bytes:
    """A payload-less frame of the server's (``hb``, ``im_enter_room_resp``)."""
    return pb.WebcastPushFrame(payload_encoding="pb", payload_type=payload_type).SerializeToString()


REPLIES = {"hb": _frame("hb"), "im_enter_room": _frame("im_enter_room_resp")}
"""What the server answers to a client frame, by its ``payload_type`` (acks get nothing)."""


async def handle_ws(fake: FakeTikTok, ws: ServerConnection) -> None:
    """One upgraded connection: send the room's traffic while a reader records the client."""
    room, record = fake._pending.pop(ws)
    reader = asyncio.create_task(_read_loop(fake, ws, room, record))
    try:
        await _send_loop(fake, ws, room, record)
    except ConnectionClosed:
        pass
    finally:
        if record.fault == "stall":
            await ws.wait_closed()
        try:  # let the reader record what arrived before the close
            await asyncio.wait_for(reader, timeout=2.0)
        except (TimeoutError, asyncio.TimeoutError):
            pass
        record.closed = True


async def _read_loop(
    fake: FakeTikTok, ws: ServerConnection, room: FakeRoom, record: WsConnection
) -> None:
    """Record every frame the client sends and answer heartbeats and joins."""
    try:
        async for message in ws:
            if isinstance(message, str):
                message = message.encode()
            frame = pb.WebcastPushFrame()
            try:
                frame.ParseFromString(message)
            except Exception:  # noqa: BLE001  (record what a broken client sent)
                fake.ws_received.append(
                    ClientFrame(
                        connection=record.index,
                        kind="invalid",
                        room_id=room.room_id,
                        raw=message,
                        at=time.time(),
                    )
                )
                continue
            entry = ClientFrame(
                connection=record.index,
                kind=frame.payload_type,
                room_id=room.room_id,
                log_id=frame.log_id,
                raw=message,
                at=time.time(),
            )
            if len(record.first_frames) < 2:
                record.first_frames.append(frame.payload_type)
            if frame.payload_type == "ack":
                entry.internal_ext = frame.payload.decode("utf-8", "replace")
            elif frame.payload_type == "hb":
                hb = pb.HeartBeatMessage()
                hb.ParseFromString(frame.payload)
                entry.room_id = hb.room_id or room.room_id
                entry.seq = hb.send_packet_seq_id
            elif frame.payload_type == "im_enter_room":
                enter = pb.WebcastImEnterRoomMessage()
                enter.ParseFromString(frame.payload)
                entry.room_id = enter.room_id or room.room_id
            fake.ws_received.append(entry)
            reply = REPLIES.get(frame.payload_type)
            if reply is not None and record.fault != "stall":
                try:
                    await ws.send(reply)
                except ConnectionClosed:  # closing: keep reading what is in flight
                    pass
            if frame.payload_type == "im_enter_room" and record.index in fake._joined:
                fake._joined[record.index].set()
    except ConnectionClosed:
        pass


async def _send_loop(
    fake: FakeTikTok, ws: ServerConnection, room: FakeRoom, record: WsConnection
) -> None:
    """Send the room's traffic from its position, with its faults, then its end or wait."""
    gzip_on = record.query.get("compress") == "gzip"
    if record.direct and not await _direct_join(fake, ws, room, record, gzip_on):
        return
    index = 0 if room.replay else max(0, room.position - room._resend_next)
    room._resend_next = 0
    sent = 0
    while True:
        if room.drop_after is not None and room.drop_times > 0 and sent >= room.drop_after:
            room.drop_times -= 1
            room._resend_next = room.resend
            record.fault = "drop"
            await asyncio.sleep(0.01)  # let the reader record the client's last frames
            await _abort(ws)
            return
        if room.stall_after is not None and room.stall_times > 0 and sent >= room.stall_after:
            room.stall_times -= 1
            record.fault = "stall"
            return
        if index < len(room.traffic):
            item = room.traffic[index]
            index += 1
            data = build_frame(fake, item, room, record, index, gzip_on)
            if room.history and not isinstance(item, (bytes, bytearray, memoryview)):
                room._recent.extend(p for p in map(message_parts, item) if p[0] == _CHAT)
            await ws.send(data)
            sent += 1
            record.frames_sent += 1
            room.position = max(room.position, index)
            if room.server_hb_every and sent % room.server_hb_every == 0:
                await ws.send(REPLIES["hb"])
            await asyncio.sleep(room.interval)
            continue
        if room.ends:
            ending = [stream_end(room, next(fake._log_ids))]
            await ws.send(build_frame(fake, ending, room, record, index + 1, gzip_on))
            room.live = False
            room._ended = True
            room._ended_video()
            await asyncio.sleep(room.close_delay)
            await ws.close(1000, "stream ended")
            return
        changed = asyncio.ensure_future(room._changed.wait())
        closed = asyncio.ensure_future(ws.wait_closed())
        try:
            await asyncio.wait({changed, closed}, return_when=asyncio.FIRST_COMPLETED)
        finally:
            changed.cancel()
        if closed.done():
            return
        closed.cancel()


async def _direct_join(
    fake: FakeTikTok, ws: ServerConnection, room: FakeRoom, record: WsConnection, gzip_on: bool
) -> bool:
    """Wait for the client's ``im_enter_room``, then re-send recent comments."""
    joined = fake._joined[record.index]
    closed = asyncio.ensure_future(ws.wait_closed())
    waiting = asyncio.ensure_future(joined.wait())
    try:
        await asyncio.wait(
            {closed, waiting}, timeout=JOIN_TIMEOUT, return_when=asyncio.FIRST_COMPLETED
        )
    finally:
        closed.cancel()
        waiting.cancel()
        del fake._joined[record.index]
    if not joined.is_set():
        await ws.close(1000, "payload_handler_hb")  # never joined
        return False
    limit = int_or(record.query.get("history_comment_count"), 0)
    recent = list(room._recent)[-min(room.history, limit) :] if room.history else []
    if recent and limit:
        record.history_sent = len(recent)
        await ws.send(build_frame(fake, recent, room, record, 0, gzip_on))
    return True


def build_frame(
    fake: FakeTikTok, item: Any, room: FakeRoom, record: WsConnection, seq: int, gzip_on: bool
) -> bytes:
    """The push frame of one traffic item (a recorded frame goes out as it is)."""
    if isinstance(item, (bytes, bytearray, memoryview)):
        return bytes(item)
    now_ms = int(time.time() * 1000)
    internal_ext = f"internal_ext:{room.room_id}:{seq}:{now_ms}"
    if room.empty_ext_every and seq and seq % room.empty_ext_every == 0:
        internal_ext = ""
    batch = fetch_result(
        [message_parts(message) for message in item],
        cursor=f"{now_ms}_{room.room_id}_{seq}_1_0_0",
        internal_ext=internal_ext,
        need_ack=True,
        push_server="",
        route_params={},
        now=now_ms,
    )
    log_id = next(fake._log_ids)
    record.sent_log_ids[log_id] = internal_ext
    return push_frame(batch, log_id=log_id, seq_id=seq, gzip=gzip_on)


async def _abort(ws: ServerConnection) -> None:
    """Drop the TCP connection without a close frame, after flushing what was sent."""
    transport = ws.transport
    for _ in range(200):
        if transport.get_write_buffer_size() == 0:
            break
        await asyncio.sleep(0.005)
    transport.abort()
