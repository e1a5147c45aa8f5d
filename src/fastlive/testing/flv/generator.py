"""A deterministic live FLV stream that ffmpeg can remux: the file header, ``onMetaData``, real
H.264 and AAC sequence headers, then filler media tags that each carry their own index, so a test
can check a recording tag by tag (:func:`media_index`)."""

from __future__ import annotations

import itertools
import random
import struct
from collections.abc import Iterator, Mapping

from fastlive.record.flv import AUDIO, SCRIPT, VIDEO, FLVTag, encode_header, encode_tag

__all__ = ["GeneratedFLV", "media_index"]

_VIDEO_PREFIX = 13  # frame/codec byte, packet type, composition time (3), NAL length (4),
# NAL header, 3 bytes of slice header (so ffmpeg finds the picture size without real video)
_AUDIO_PREFIX = 2  # sound format byte, AAC packet type


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
