"""An incremental FLV reader: feed bytes, get complete tags (sans-I/O).

An FLV stream is a 9-byte header (``FLV``, version 1, audio/video flags, header
size), a 4-byte zero, then tags, each followed by its 4-byte "previous tag
size"::

    type(1) data_size(3) timestamp(3) timestamp_ext(1) stream_id(3) | data | prev_size(4)

:class:`FLVParser` buffers at most one incomplete tag (its memory is bounded by
``max_tag_size``) and hands back whole tags, each carrying its exact bytes
(``raw``: header, data and trailing size), so the recorder writes complete tags
only and a file is always valid up to its last tag.

Tag identity, for resuming after a reconnect without writing a tag twice, is
``(kind, timestamp, data)``: see :class:`TagDeduplicator`.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import msgspec

from fastlive.exceptions import FLVError

__all__ = [
    "AUDIO",
    "SCRIPT",
    "VIDEO",
    "FLVHeader",
    "FLVParser",
    "FLVTag",
    "TagDeduplicator",
    "encode_header",
    "encode_tag",
    "read_flv",
]

AUDIO = 8
VIDEO = 9
SCRIPT = 18
TAG_HEADER_SIZE = 11
PREV_SIZE_SIZE = 4
FILE_HEADER_SIZE = 9
DEFAULT_MAX_TAG_SIZE = (1 << 24) - 1
"""The largest tag data FLV can describe (24-bit size); a lower limit bounds memory."""
_FILTER_BIT = 0x20
_KINDS = (AUDIO, VIDEO, SCRIPT)
_AAC = 10
_AVC = 7
_HEVC = 12


class FLVHeader(msgspec.Struct, frozen=True, gc=False):
    """The file header: which tracks the stream announces.

    ``raw`` is the header as a file should start: 9 bytes plus the zero size.
    """

    has_audio: bool
    has_video: bool
    raw: bytes


class FLVTag(msgspec.Struct, frozen=True, gc=False):
    """One complete tag.

    Attributes:
        kind: 8 audio, 9 video, 18 script data (``AUDIO``, ``VIDEO``, ``SCRIPT``).
        timestamp: milliseconds (32 bits: the 24-bit field plus its extension).
        raw: the tag's exact bytes: 11-byte header, data, 4-byte previous-size.
    """

    kind: int
    timestamp: int
    raw: bytes

    @property
    def size(self) -> int:
        """Length of the tag's data (without header and trailing size)."""
        return len(self.raw) - TAG_HEADER_SIZE - PREV_SIZE_SIZE

    @property
    def data(self) -> bytes:
        """The tag's data (a copy)."""
        return self.raw[TAG_HEADER_SIZE:-PREV_SIZE_SIZE]

    @property
    def is_config(self) -> bool:
        """Script data, or an AVC/HEVC/AAC sequence header: needed at a file's start."""
        raw = self.raw
        if self.kind == SCRIPT:
            return True
        if len(raw) < TAG_HEADER_SIZE + 2 + PREV_SIZE_SIZE:
            return False
        first, second = raw[TAG_HEADER_SIZE], raw[TAG_HEADER_SIZE + 1]
        if self.kind == VIDEO:
            if first & 0x80:  # enhanced RTMP: packet type in the low nibble, 0 = sequence start
                return first & 0x0F == 0
            return first & 0x0F in (_AVC, _HEVC) and second == 0
        return self.kind == AUDIO and first >> 4 == _AAC and second == 0

    @property
    def is_keyframe(self) -> bool:
        """A video key frame (frame type 1)."""
        return self.kind == VIDEO and self.size > 0 and (self.raw[TAG_HEADER_SIZE] >> 4) & 7 == 1


class FLVParser:
    """Feed FLV bytes, get complete tags; validates as it goes.

    Call :meth:`feed` with each chunk as it arrives; it returns the tags that
    became complete.  :attr:`header` is set once the file header is read.

    Args:
        max_tag_size: refuse a tag whose data is larger (bounds the buffer).

    Raises (from :meth:`feed`):
        FLVError: not an FLV header, an unknown or encrypted tag type, a tag over
            ``max_tag_size``, or a previous-tag-size that does not match.
    """

    def __init__(self, *, max_tag_size: int = DEFAULT_MAX_TAG_SIZE) -> None:
        self.max_tag_size = max_tag_size
        self.header: FLVHeader | None = None
        self.offset = 0
        """Bytes of the stream consumed into the header and complete tags."""
        self._buf = bytearray()
        self._skip = 0  # header bytes past the 9 we read (data offset > 9)

    @property
    def buffered(self) -> int:
        """Bytes received but not yet part of a complete tag."""
        return len(self._buf)

    def feed(self, data: bytes) -> list[FLVTag]:
        """Add ``data``; return every tag it completed, in order."""
        buf = self._buf
        buf += data
        pos = 0
        if self.header is None:
            pos = self._read_header()
            if self.header is None:
                return []
        tags: list[FLVTag] = []
        end = len(buf)
        max_size = self.max_tag_size
        while end - pos >= TAG_HEADER_SIZE:
            kind = buf[pos]
            size = (buf[pos + 1] << 16) | (buf[pos + 2] << 8) | buf[pos + 3]
            if kind not in _KINDS:
                self._fail(pos, kind)
            if size > max_size:
                raise FLVError(
                    f"tag of {size} bytes is over the {max_size}-byte limit", self.offset + pos
                )
            total = TAG_HEADER_SIZE + size + PREV_SIZE_SIZE
            if end - pos < total:
                break
            tail = pos + total - PREV_SIZE_SIZE
            prev = int.from_bytes(buf[tail : tail + PREV_SIZE_SIZE], "big")
            if prev != TAG_HEADER_SIZE + size:
                raise FLVError(
                    f"previous-tag-size {prev} does not match the tag ({TAG_HEADER_SIZE + size})",
                    self.offset + tail,
                )
            timestamp = (
                (buf[pos + 7] << 24) | (buf[pos + 4] << 16) | (buf[pos + 5] << 8) | buf[pos + 6]
            )
            tags.append(FLVTag(kind, timestamp, bytes(buf[pos : pos + total])))
            pos += total
        if pos:
            del buf[:pos]
            self.offset += pos
        return tags

    def _read_header(self) -> int:
        """Parse the file header if it is all here; return bytes used (0 if not yet)."""
        buf = self._buf
        if len(buf) >= 3 and bytes(buf[:3]) != b"FLV":
            raise FLVError(f"the stream starts with {bytes(buf[:3])!r}, not 'FLV'", 0)
        if len(buf) < FILE_HEADER_SIZE:
            return 0
        version, flags = buf[3], buf[4]
        data_offset = int.from_bytes(buf[5:9], "big")
        if version != 1:
            raise FLVError(f"unsupported FLV version {version}", 3)
        if data_offset < FILE_HEADER_SIZE or data_offset > 1024:
            raise FLVError(f"bad header size {data_offset}", 5)
        need = data_offset + PREV_SIZE_SIZE
        if len(buf) < need:
            return 0
        has_audio, has_video = bool(flags & 4), bool(flags & 1)
        self.header = FLVHeader(has_audio, has_video, encode_header(has_audio, has_video))
        return need

    def _fail(self, pos: int, kind: int) -> None:
        if kind & 0x1F in _KINDS and kind & _FILTER_BIT:
            raise FLVError("encrypted (filtered) tags are not supported", self.offset + pos)
        raise FLVError(f"unknown tag type {kind}", self.offset + pos)


class TagDeduplicator:
    """Which tags of a reconnected stream were already written, by tag identity.

    A tag's identity is ``(kind, timestamp, data)``.  For each track (audio,
    video) it remembers the last timestamp written and the data of the tags
    written at that timestamp.  After a reconnect, a media tag is new when its
    timestamp is later than its track's last one, or equal with different data;
    earlier ones are the overlap a CDN re-sends (its GOP cache) and are skipped.

    If a reconnected stream's timestamps restart (the first media tag is more
    than ``reset_window`` ms before what was written), the timeline is new:
    nothing is skipped and the gap is reported as unknown (None).

    Config tags (script data, sequence headers) are never deduplicated: each
    segment file starts with its own.
    """

    def __init__(self, *, reset_window: int = 30_000) -> None:
        self.reset_window = reset_window
        self._last_ts: dict[int, int] = {}
        self._at_last: dict[int, list[bytes]] = {}  # raw bytes (not copies) of those tags
        self._checking: set[int] = set()
        self.skipped = 0
        """Tags skipped as already written, since the last :meth:`reconnected`."""
        self.timeline_reset = False
        """True when the stream's timestamps restarted since the last :meth:`reconnected`."""

    @property
    def last_timestamp(self) -> int | None:
        """The latest media timestamp written, in ms (None before any)."""
        return max(self._last_ts.values()) if self._last_ts else None

    def reconnected(self) -> None:
        """A new connection starts: check its first tags against what was written."""
        self._checking = set(self._last_ts)
        self.skipped = 0
        self.timeline_reset = False

    def is_new(self, tag: FLVTag) -> bool:
        """True if ``tag`` must be written (and remember it as written)."""
        kind = tag.kind
        if kind == SCRIPT or tag.is_config:
            return True
        ts = tag.timestamp
        last = self._last_ts.get(kind)
        if kind in self._checking:
            assert last is not None
            if ts < last - self.reset_window:  # a new timeline: forget the old one
                self._last_ts.clear()
                self._at_last.clear()
                self._checking.clear()
                self.timeline_reset = True
                last = None
            elif ts < last or (ts == last and tag.raw in self._at_last[kind]):
                self.skipped += 1
                return False
            else:
                self._checking.discard(kind)  # past the overlap: the rest of this track is new
        if ts == last:
            self._at_last[kind].append(tag.raw)
        else:
            self._last_ts[kind] = ts
            self._at_last[kind] = [tag.raw]
        return True


def encode_header(has_audio: bool = True, has_video: bool = True) -> bytes:
    """An FLV file header (9 bytes) followed by the zero previous-tag-size."""
    flags = (4 if has_audio else 0) | (1 if has_video else 0)
    return b"FLV\x01" + bytes([flags]) + (9).to_bytes(4, "big") + b"\x00\x00\x00\x00"


def encode_tag(kind: int, timestamp: int, data: bytes) -> bytes:
    """One tag's bytes (header, data, previous-tag-size)."""
    size = len(data)
    ts = timestamp & 0xFFFFFFFF
    return b"".join(
        (
            bytes([kind]),
            size.to_bytes(3, "big"),
            (ts & 0xFFFFFF).to_bytes(3, "big"),
            bytes([ts >> 24]),
            b"\x00\x00\x00",
            data,
            (TAG_HEADER_SIZE + size).to_bytes(4, "big"),
        )
    )


def read_flv(path: str | Path, *, chunk_size: int = 1 << 16) -> Iterator[FLVTag]:
    """Every tag of an FLV file, read in constant memory.

    Raises:
        FLVError: the file is not valid FLV, or ends inside a tag.
    """
    parser = FLVParser()
    with open(path, "rb") as f:
        while chunk := f.read(chunk_size):
            yield from parser.feed(chunk)
    if parser.header is None or parser.buffered:
        raise FLVError(
            "the file ends inside a tag" if parser.header else "no FLV header", parser.offset
        )
