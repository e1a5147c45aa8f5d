"""A live FLV stream on loopback: a generator of small valid FLV, and an HTTP server with faults.

:class:`GeneratedFLV` makes a deterministic FLV stream: the file header, an
``onMetaData`` script tag, an H.264 and an AAC sequence header (a real SPS/PPS
and AudioSpecificConfig, so ffmpeg can remux it), then interleaved video and
audio tags with monotonic timestamps.  Each media tag carries its own index
(:func:`media_index`), so a test can check a recording tag by tag.  No real
video is encoded; the frames are filler.

:class:`FLVServer` serves such streams over HTTP/1.1 (chunked or close-delimited)
like a CDN serves a live FLV: every connection gets the header and the config
tags, then media from the live position (minus a GOP-cache ``overlap``).  Faults
per connection: drop after N bytes, stall after N bytes, an HTTP status for the
Nth request, single-use URLs (403 when reused, like an expired token), and the
stream's end (the response finishes; later requests get 404)::

    async with FLVServer() as server:
        server.add_stream("alice", GeneratedFLV(media_tags=300), drop_after={1: 20_000})
        url = server.url("alice", "hd")

``FakeTikTok`` can point a room's ``stream_url`` at it: :func:`room_stream_url`
builds the room info object from one URL per quality.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import json
import random
import struct
from collections.abc import Callable, Iterator, Mapping, Sequence
from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qsl, urlsplit

import msgspec

from fastlive.record.flv import AUDIO, SCRIPT, VIDEO, FLVTag, encode_header, encode_tag

if TYPE_CHECKING:
    from typing_extensions import Self

__all__ = [
    "FLVConnection",
    "FLVRequest",
    "FLVServer",
    "FLVStream",
    "GeneratedFLV",
    "media_index",
    "room_stream_url",
]

_VIDEO_PREFIX = 13  # frame/codec byte, packet type, composition time (3), NAL length (4),
# NAL header, 3 bytes of slice header (so ffmpeg finds the picture size without real video)
_AUDIO_PREFIX = 2  # sound format byte, AAC packet type


# -- the generator ------------------------------------------------------------------------


class _Bits:
    """A bit writer for the H.264 parameter sets (exp-Golomb codes)."""

    def __init__(self) -> None:
        self.bits: list[int] = []

    def u(self, n: int, value: int) -> None:
        self.bits += [(value >> (n - 1 - i)) & 1 for i in range(n)]

    def ue(self, value: int) -> None:
        code = value + 1
        self.u(2 * code.bit_length() - 1, code)

    def se(self, value: int) -> None:
        self.ue(2 * value - 1 if value > 0 else -2 * value)

    def rbsp(self) -> bytes:
        self.bits.append(1)
        while len(self.bits) % 8:
            self.bits.append(0)
        return bytes(
            int("".join(map(str, self.bits[i : i + 8])), 2) for i in range(0, len(self.bits), 8)
        )


def _sps(width: int, height: int) -> bytes:
    b = _Bits()
    for n, v in ((8, 66), (8, 0xC0), (8, 30)):  # baseline profile, level 3.0
        b.u(n, v)
    for v in (0, 0, 2, 1):  # sps id, log2_max_frame_num-4, poc type 2, max ref frames
        b.ue(v)
    b.u(1, 0)
    b.ue(width // 16 - 1)
    b.ue(height // 16 - 1)
    b.u(1, 1)  # frame_mbs_only
    b.u(1, 1)  # direct_8x8_inference
    b.u(1, 0)  # no cropping
    b.u(1, 0)  # no VUI
    return b"\x67" + b.rbsp()


def _pps() -> bytes:
    b = _Bits()
    b.ue(0)
    b.ue(0)
    b.u(1, 0)
    b.u(1, 0)
    for _ in range(3):
        b.ue(0)
    b.u(1, 0)
    b.u(2, 0)
    for _ in range(3):
        b.se(0)
    b.u(1, 1)
    b.u(1, 0)
    b.u(1, 0)
    return b"\x68" + b.rbsp()


def _slice_header(key: bool, frame_num: int) -> bytes:
    """The first bits of a baseline IDR / P slice (the slice data after them is filler)."""
    b = _Bits()
    b.ue(0)  # first_mb_in_slice
    b.ue(7 if key else 5)  # I or P, all slices of the picture alike
    b.ue(0)  # pps id
    b.u(4, 0 if key else frame_num % 16)
    if key:
        b.ue(0)  # idr_pic_id
        b.u(2, 0)  # no_output_of_prior_pics, long_term_reference
    else:
        b.u(3, 0)  # no ref count override, no list modification, no adaptive marking
    b.se(0)  # slice_qp_delta
    b.ue(1)  # deblocking off
    raw = b.rbsp()
    return (raw + b"\x80\x80")[:3]


def _amf_string(text: str) -> bytes:
    raw = text.encode()
    return struct.pack(">H", len(raw)) + raw


def _on_metadata(fields: Mapping[str, float | str]) -> bytes:
    out = [b"\x02", _amf_string("onMetaData"), b"\x08", struct.pack(">I", len(fields))]
    for key, value in fields.items():
        out.append(_amf_string(key))
        if isinstance(value, str):
            out += [b"\x02", _amf_string(value)]
        else:
            out += [b"\x00", struct.pack(">d", float(value))]
    out.append(b"\x00\x00\x09")
    return b"".join(out)


class GeneratedFLV:
    """A deterministic live FLV stream: header, config tags, then numbered media tags.

    Media tag ``i`` is a function of ``i`` alone, so any connection can start
    anywhere.  Per video frame (every ``1000 / fps`` ms) come the video tag and
    two audio tags (at the frame's time and half a frame later).

    Args:
        media_tags: how many media tags the stream has (None: endless).
        fps: video frames per second.
        video_size, audio_size: data bytes of a video / audio tag (key frames 4x).
        keyframe_every: a key frame every N video frames.
        audio, video: which tracks the stream has.
        start_ms: timestamp of the first media tag.
        width, height: picture size announced (SPS and onMetaData).
    """

    def __init__(
        self,
        *,
        media_tags: int | None = 300,
        fps: int = 25,
        video_size: int = 2000,
        audio_size: int = 200,
        keyframe_every: int = 25,
        audio: bool = True,
        video: bool = True,
        start_ms: int = 0,
        width: int = 320,
        height: int = 240,
        seed: int = 0,
    ) -> None:
        if not (audio or video):
            raise ValueError("a stream needs audio or video")
        self.media_tags = media_tags
        self.fps = fps
        self.video_size = max(video_size, _VIDEO_PREFIX + 8)
        self.audio_size = max(audio_size, _AUDIO_PREFIX + 8)
        self.keyframe_every = keyframe_every
        self.audio, self.video = audio, video
        self.start_ms = start_ms
        self.width, self.height = width, height
        frame = 1000 / fps
        self._pattern: list[tuple[int, float]] = []
        if video:
            self._pattern.append((VIDEO, 0.0))
        if audio:
            self._pattern += [(AUDIO, 0.0), (AUDIO, frame / 2)]
        self._frame_ms = frame
        self._filler = random.Random(seed).randbytes(4 * self.video_size + self.audio_size)

    def header(self) -> bytes:
        """The file header plus the zero previous-tag-size."""
        return encode_header(self.audio, self.video)

    def config_tags(self) -> list[bytes]:
        """onMetaData, then the AVC and AAC sequence headers (timestamp: the first media's)."""
        meta: dict[str, float | str] = {"duration": 0, "encoder": "fastlive.testing"}
        tags = []
        if self.video:
            meta.update(width=self.width, height=self.height, framerate=self.fps, videocodecid=7)
        if self.audio:
            meta.update(audiocodecid=10, audiosamplerate=44100, stereo=1.0)
        tags.append(encode_tag(SCRIPT, 0, _on_metadata(meta)))
        if self.video:
            sps, pps = _sps(self.width, self.height), _pps()
            record = (
                bytes([1, sps[1], sps[2], sps[3], 0xFF, 0xE1])
                + struct.pack(">H", len(sps))
                + sps
                + b"\x01"
                + struct.pack(">H", len(pps))
                + pps
            )
            tags.append(encode_tag(VIDEO, self.start_ms, b"\x17\x00\x00\x00\x00" + record))
        if self.audio:
            tags.append(encode_tag(AUDIO, self.start_ms, b"\xaf\x00\x12\x10"))  # AAC-LC 44.1k st
        return tags

    def media_kind(self, i: int) -> int:
        """AUDIO or VIDEO: the kind of media tag ``i``."""
        return self._pattern[i % len(self._pattern)][0]

    def media_timestamp(self, i: int) -> int:
        """Timestamp in ms of media tag ``i`` (non-decreasing in ``i``, per track increasing)."""
        tick, slot = divmod(i, len(self._pattern))
        return self.start_ms + int(tick * self._frame_ms + self._pattern[slot][1])

    def media_tag(self, i: int) -> bytes:
        """The bytes of media tag ``i``; its data carries ``i`` (see :func:`media_index`)."""
        kind = self.media_kind(i)
        ts = self.media_timestamp(i)
        index = i.to_bytes(8, "big")
        if kind == VIDEO:
            frame = i // len(self._pattern)
            key = frame % self.keyframe_every == 0
            size = self.video_size * (4 if key else 1)
            nal = size - 9  # NAL bytes after the 4-byte length
            head = (
                bytes([0x17 if key else 0x27, 1, 0, 0, 0])
                + nal.to_bytes(4, "big")
                + (b"\x65" if key else b"\x41")
                + _slice_header(key, frame % self.keyframe_every)
            )
            body = head + index + self._filler[: size - _VIDEO_PREFIX - 8]
        else:
            body = b"\xaf\x01" + index + self._filler[: self.audio_size - _AUDIO_PREFIX - 8]
        return encode_tag(kind, ts, body)

    def media(self, start: int = 0, stop: int | None = None) -> Iterator[bytes]:
        """Media tags from ``start`` up to ``stop`` or the stream's end."""
        end = self.media_tags if stop is None else stop
        for i in itertools.count(start) if end is None else range(start, end):
            yield self.media_tag(i)

    def build(self, media_tags: int | None = None) -> bytes:
        """A whole file: header, config tags, the first ``media_tags`` media tags."""
        count = self.media_tags if media_tags is None else media_tags
        if count is None:
            raise ValueError("an endless stream has no whole file: pass media_tags")
        return b"".join([self.header(), *self.config_tags(), *self.media(0, count)])


def media_index(tag: FLVTag) -> int | None:
    """The index a :class:`GeneratedFLV` media tag carries (None for config tags)."""
    if tag.is_config or tag.kind == SCRIPT:
        return None
    offset = 11 + (_VIDEO_PREFIX if tag.kind == VIDEO else _AUDIO_PREFIX)
    return int.from_bytes(tag.raw[offset : offset + 8], "big")


# -- the server -----------------------------------------------------------------------------


class FLVRequest(msgspec.Struct, kw_only=True):
    """One HTTP request the server received, and how it answered."""

    path: str
    query: dict[str, str]
    headers: dict[str, str]
    status: int


class FLVConnection(msgspec.Struct, kw_only=True):
    """One streaming response: which media tags went out whole, and how it ended.

    ``first`` and ``end`` bound the media indices sent in full (``range(first, end)``);
    ``how`` is ``"end"``, ``"drop"``, ``"stall"`` or ``"closed"`` (the client left).
    """

    first: int
    end: int
    bytes: int = 0
    how: str = ""


class FLVStream:
    """One stream served by :class:`FLVServer`; attributes may change while it runs.

    See :meth:`FLVServer.add_stream` for the options.
    """

    def __init__(self, name: str, source: GeneratedFLV, **options: Any) -> None:
        self.name = name
        self.source = source
        self.chunked: bool = options.pop("chunked", True)
        self.drop_after: dict[int, int] = dict(options.pop("drop_after", None) or {})
        self.stall_after: dict[int, int] = dict(options.pop("stall_after", None) or {})
        self.statuses: dict[int, int] = dict(options.pop("statuses", None) or {})
        self.single_use_urls: bool = options.pop("single_use_urls", False)
        self.overlap: int = options.pop("overlap", 0)
        self.skip_on_reconnect: int = options.pop("skip_on_reconnect", 0)
        self.rate: float | None = options.pop("rate", None)
        self.batch_bytes: int = options.pop("batch_bytes", 1 << 16)
        self.on_end: Callable[[], Any] | None = options.pop("on_end", None)
        if options:
            raise TypeError(f"add_stream() got unknown keywords: {', '.join(sorted(options))}")
        self.position = 0
        """The live position: the next media tag nobody has been sent whole."""
        self.requests = 0
        self.connections: list[FLVConnection] = []
        self.ended = False
        self._used_tokens: set[str] = set()
        self._ending = asyncio.Event()

    def end(self) -> None:
        """End the stream now: open responses finish cleanly, later requests get 404."""
        self.ended = True
        self._ending.set()

    def sent_indices(self) -> list[int]:
        """Every media index sent whole, over all connections, in order (with repeats)."""
        return [i for c in self.connections for i in range(c.first, c.end)]


class FLVServer:
    """Live FLV over HTTP on ``127.0.0.1``: ``GET /live/{name}/{quality}.flv?token=...``.

    Every quality of a stream serves the same :class:`GeneratedFLV`.
    """

    def __init__(self, *, host: str = "127.0.0.1") -> None:
        self.host = host
        self.streams: dict[str, FLVStream] = {}
        self.requests: list[FLVRequest] = []
        self._server: asyncio.Server | None = None
        self._port = 0
        self._tokens = itertools.count(1)
        self._tasks: set[asyncio.Task[None]] = set()

    async def start(self) -> None:
        """Listen on a free port."""
        self._server = await asyncio.start_server(self._handle, self.host, 0)
        self._port = self._server.sockets[0].getsockname()[1]

    async def aclose(self) -> None:
        """Stop listening and drop every open response."""
        if self._server is not None:
            self._server.close()
            for task in list(self._tasks):
                task.cancel()
            for task in list(self._tasks):
                with contextlib.suppress(BaseException):
                    await task
            await self._server.wait_closed()
            self._server = None

    async def __aenter__(self) -> Self:
        await self.start()
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.aclose()

    @property
    def base_url(self) -> str:
        return f"http://{self.host}:{self._port}"

    def add_stream(
        self, name: str, source: GeneratedFLV | None = None, **options: Any
    ) -> FLVStream:
        """Serve ``source`` (default: 300 media tags) as stream ``name``.

        Keyword Args:
            chunked: chunked transfer encoding (default) or a close-delimited body.
            drop_after: ``{connection number: bytes}``: abort that connection
                (no clean end) after that many body bytes; connections count from 1.
            stall_after: ``{connection number: bytes}``: after that many body bytes
                send nothing more, holding the connection open.
            statuses: ``{request number: HTTP status}``: answer that request so.
            single_use_urls: a URL's token works once; reusing it answers 403.
            overlap: a reconnection re-sends this many media tags already sent
                (a CDN's GOP cache).
            skip_on_reconnect: a reconnection starts this many media tags past the
                last one sent (live time lost while disconnected).
            rate: media tags per second (None: as fast as the socket takes).
            on_end: called once when the stream ends (its source runs out or ``end()``).
        """
        stream = FLVStream(name, source or GeneratedFLV(), **options)
        self.streams[name] = stream
        return stream

    def url(self, name: str, quality: str = "hd") -> str:
        """A fresh URL of stream ``name`` (a new token each call)."""
        return f"{self.base_url}/live/{name}/{quality}.flv?token={next(self._tokens)}&expire=0"

    def end(self, name: str) -> None:
        """End stream ``name`` now."""
        self.streams[name].end()

    # -- internals ------------------------------------------------------------------------

    async def _handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        task = asyncio.current_task()
        assert task is not None
        self._tasks.add(task)
        try:
            await self._serve(reader, writer)
        except (ConnectionError, asyncio.IncompleteReadError, asyncio.LimitOverrunError):
            pass
        finally:
            self._tasks.discard(task)
            writer.close()

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        head = await reader.readuntil(b"\r\n\r\n")
        lines = head.decode("latin-1").split("\r\n")
        _method, target, _version = lines[0].split(" ", 2)
        headers = {}
        for line in lines[1:]:
            if ":" in line:
                key, _, value = line.partition(":")
                headers[key.strip().lower()] = value.strip()
        parts = urlsplit(target)
        query = dict(parse_qsl(parts.query))
        segments = parts.path.strip("/").split("/")
        stream = None
        if len(segments) == 3 and segments[0] == "live" and segments[2].endswith(".flv"):
            stream = self.streams.get(segments[1])
        status = 200
        if stream is None:
            status = 404
        else:
            stream.requests += 1
            token = query.get("token", "")
            if stream.requests in stream.statuses:
                status = stream.statuses[stream.requests]
            elif stream.ended:
                status = 404
            elif stream.single_use_urls and token in stream._used_tokens:
                status = 403
            stream._used_tokens.add(token)
        self.requests.append(
            FLVRequest(path=parts.path, query=query, headers=headers, status=status)
        )
        if status != 200 or stream is None:
            body = f"{status}\n".encode()
            writer.write(
                f"HTTP/1.1 {status} X\r\nContent-Length: {len(body)}\r\n"
                "Connection: close\r\n\r\n".encode()
                + body
            )
            await writer.drain()
            return
        await self._stream(stream, reader, writer)

    async def _stream(
        self, stream: FLVStream, reader: asyncio.StreamReader, writer: asyncio.StreamWriter
    ) -> None:
        source = stream.source
        number = len(stream.connections) + 1
        first = stream.position
        if number > 1:
            first = max(0, first - stream.overlap) + stream.skip_on_reconnect
        record = FLVConnection(first=first, end=first)
        stream.connections.append(record)
        head = "HTTP/1.1 200 OK\r\nContent-Type: video/x-flv\r\nConnection: close\r\n"
        head += "Transfer-Encoding: chunked\r\n\r\n" if stream.chunked else "\r\n"
        writer.write(head.encode())
        drop = stream.drop_after.get(number)
        stall = stream.stall_after.get(number)
        limit = min(x for x in (drop, stall, float("inf")) if x is not None)
        client_gone = asyncio.ensure_future(reader.read())  # EOF: the client closed
        try:
            pending: list[bytes] = [source.header(), *source.config_tags()]
            pending_media = 0
            size = sum(map(len, pending))
            index = first
            media = source.media(first)
            while True:
                tag = None if stream.ended else next(media, None)
                if tag is not None:
                    pending.append(tag)
                    pending_media += 1
                    size += len(tag)
                    if stream.rate is None and size < stream.batch_bytes:
                        continue
                if pending:
                    data = b"".join(pending)
                    if record.bytes + len(data) >= limit:  # the fault happens in this batch
                        cut = int(limit - record.bytes)
                        self._write(writer, stream, data[:cut])
                        record.bytes += cut
                        record.end = index + _whole_tags(pending, cut, pending_media)
                        stream.position = max(stream.position, record.end)
                        await writer.drain()
                        if drop == limit:
                            record.how = "drop"
                            writer.transport.abort()
                            return
                        record.how = "stall"
                        await client_gone
                        return
                    self._write(writer, stream, data)
                    record.bytes += len(data)
                    index += pending_media
                    record.end = index
                    stream.position = max(stream.position, index)
                    pending, pending_media, size = [], 0, 0
                    await writer.drain()
                    if client_gone.done():
                        record.how = "closed"
                        return
                if tag is None:
                    break
                if stream.rate is not None:
                    ending = asyncio.ensure_future(stream._ending.wait())
                    await asyncio.wait({client_gone, ending}, timeout=1 / stream.rate)
                    ending.cancel()
                    if client_gone.done():
                        record.how = "closed"
                        return
            if stream.chunked:
                writer.write(b"0\r\n\r\n")
            await writer.drain()
            record.how = "end"
            if not stream.ended:
                stream.end()
            if stream.on_end is not None:
                stream.on_end()
        finally:
            client_gone.cancel()

    @staticmethod
    def _write(writer: asyncio.StreamWriter, stream: FLVStream, data: bytes) -> None:
        if stream.chunked and data:
            writer.write(b"%x\r\n" % len(data) + data + b"\r\n")
        else:
            writer.write(data)


def _whole_tags(pending: Sequence[bytes], cut: int, media_count: int) -> int:
    """How many of the trailing ``media_count`` items of ``pending`` fit whole in ``cut`` bytes."""
    first_media = len(pending) - media_count
    whole = 0
    total = 0
    for i, item in enumerate(pending):
        total += len(item)
        if total > cut:
            break
        if i >= first_media:
            whole += 1
    return whole


# -- room info ----------------------------------------------------------------------------

_LEGACY_KEYS = {"origin": "ORIGION", "uhd": "FULL_HD1", "hd": "HD1", "sd": "SD1", "ld": "SD2"}
_SIZES = {
    "origin": (1080, 1920),
    "uhd": (1080, 1920),
    "hd": (720, 1280),
    "sd": (480, 854),
    "ld": (360, 640),
}
_BITRATES = {"origin": 4_000_000, "uhd": 3_000_000, "hd": 2_000_000, "sd": 1_000_000, "ld": 600_000}


def room_stream_url(
    urls: Mapping[str, str], *, legacy: bool = False, sdk: bool = True
) -> dict[str, Any]:
    """A room info ``stream_url`` object offering ``urls`` (quality -> FLV URL).

    The SDK shape (``live_core_sdk_data.pull_data.stream_data``, a JSON string,
    with ``sdk_params`` and ``options.qualities``) and, if ``legacy``, the
    older ``flv_pull_url`` / ``hls_pull_url_map``.  HLS and CMAF URLs are the FLV
    URL with another extension (the server does not serve them).
    """
    out: dict[str, Any] = {}
    if sdk:
        data = {}
        qualities = []
        for level, (quality, url) in enumerate(urls.items()):
            width, height = _SIZES.get(quality, (0, 0))
            params = {
                "VCodec": "h264",
                "vbitrate": _BITRATES.get(quality, 0),
                "resolution": f"{width}x{height}",
                "gop": 2,
            }
            data[quality] = {
                "main": {
                    "flv": url,
                    "hls": url.replace(".flv", ".m3u8"),
                    "cmaf": url.replace(".flv", ".cmaf"),
                    "dash": "",
                    "lls": "",
                    "tsl": "",
                    "tile": "",
                    "sdk_params": json.dumps(params),
                }
            }
            qualities.append(
                {
                    "name": quality.upper(),
                    "sdk_key": quality,
                    "level": level,
                    "resolution": f"{width}x{height}",
                    "v_bit_rate": _BITRATES.get(quality, 0),
                }
            )
        out["live_core_sdk_data"] = {
            "pull_data": {
                "stream_data": json.dumps({"common": {"session_id": "fake"}, "data": data}),
                "options": {
                    "default_quality": {"sdk_key": next(iter(urls), "")},
                    "qualities": qualities,
                },
            }
        }
    if legacy:
        out["flv_pull_url"] = {_LEGACY_KEYS[q]: u for q, u in urls.items()}
        out["hls_pull_url_map"] = {
            _LEGACY_KEYS[q]: u.replace(".flv", ".m3u8") for q, u in urls.items()
        }
    return out
