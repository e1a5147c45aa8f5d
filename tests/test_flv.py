"""The incremental FLV parser, the tag deduplicator, and the test stream generator."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from fastlive.exceptions import FLVError
from fastlive.record.flv import (
    AUDIO,
    SCRIPT,
    VIDEO,
    FLVParser,
    FLVTag,
    TagDeduplicator,
    encode_header,
    encode_tag,
    read_flv,
)
from fastlive.testing.flv import GeneratedFLV, media_index


def test_tag_bytes_by_hand():
    raw = encode_tag(VIDEO, 0x01020304, b"\x17\x01abc")
    assert raw == (b"\x09\x00\x00\x05\x02\x03\x04\x01\x00\x00\x00\x17\x01abc\x00\x00\x00\x10")
    assert encode_header(True, False) == b"FLV\x01\x04\x00\x00\x00\x09\x00\x00\x00\x00"
    parser = FLVParser()
    (tag,) = parser.feed(encode_header() + raw)
    assert (tag.kind, tag.timestamp, tag.data, tag.size, tag.raw) == (
        VIDEO,
        0x01020304,
        b"\x17\x01abc",
        5,
        raw,
    )
    assert tag.is_keyframe and not tag.is_config
    assert parser.header is not None and parser.header.has_video and parser.header.has_audio


def test_whole_stream_in_any_chunking():
    source = GeneratedFLV(media_tags=200)
    data = source.build()
    whole = FLVParser().feed(data)
    assert len(whole) == 3 + 200
    for size in (1, 7, 11, 15, 4096):
        parser = FLVParser()
        tags = [t for i in range(0, len(data), size) for t in parser.feed(data[i : i + size])]
        assert tags == whole
        assert parser.buffered == 0 and parser.offset == len(data)
    assert [t.kind for t in whole[:3]] == [SCRIPT, VIDEO, AUDIO]
    assert all(t.is_config for t in whole[:3])
    media = whole[3:]
    assert [media_index(t) for t in media] == list(range(200))
    assert [t.raw for t in media] == [source.media_tag(i) for i in range(200)]
    for kind in (AUDIO, VIDEO):
        stamps = [t.timestamp for t in media if t.kind == kind]
        assert stamps == sorted(stamps) and len(set(stamps)) == len(stamps)
    keys = [t for t in media if t.is_keyframe]
    assert len(keys) == 3  # frames 0, 25, 50 of 67


def test_buffer_holds_one_incomplete_tag_only():
    data = GeneratedFLV(media_tags=50).build()
    parser = FLVParser()
    for i in range(0, len(data), 3000):
        parser.feed(data[i : i + 3000])
        assert parser.buffered < 4 * 2000 + 64  # never more than the largest tag


def test_extended_timestamp_and_data_offset():
    header = b"FLV\x01\x05\x00\x00\x00\x0c" + b"xyz" + b"\x00\x00\x00\x00"  # 3 extra bytes
    tag = encode_tag(AUDIO, 0xFF000001, b"\xaf\x01zz")
    (got,) = FLVParser().feed(header + tag)
    assert got.timestamp == 0xFF000001


@pytest.mark.parametrize(
    "data, reason, offset",
    [
        (b"GIF89a", "not 'FLV'", 0),
        (b"FLV\x02\x05\x00\x00\x00\x09\x00\x00\x00\x00", "version 2", 3),
        (b"FLV\x01\x05\x00\x00\x00\x02\x00\x00\x00\x00", "bad header size", 5),
        (encode_header() + b"\x07" + encode_tag(AUDIO, 0, b"x")[1:], "unknown tag type 7", 13),
        (encode_header() + b"\x28" + encode_tag(AUDIO, 0, b"x")[1:], "encrypted", 13),
        (
            encode_header() + encode_tag(AUDIO, 0, b"abc")[:-1] + b"\x09",
            "previous-tag-size",
            13 + 14,
        ),
    ],
)
def test_invalid_streams(data, reason, offset):
    with pytest.raises(FLVError, match=reason) as info:
        FLVParser().feed(data)
    assert info.value.offset == offset


def test_max_tag_size():
    parser = FLVParser(max_tag_size=100)
    with pytest.raises(FLVError, match="over the 100-byte limit"):
        parser.feed(encode_header() + encode_tag(VIDEO, 0, bytes(101))[:20])


@settings(max_examples=300, deadline=None)
@given(st.binary(max_size=400), st.integers(1, 64))
def test_any_bytes_give_tags_or_flv_error(junk, size):
    for data in (junk, encode_header() + junk):
        parser = FLVParser()
        try:
            for i in range(0, len(data), size):
                for tag in parser.feed(data[i : i + size]):
                    assert isinstance(tag, FLVTag)
        except FLVError:
            pass


def test_read_flv(tmp_path):
    data = GeneratedFLV(media_tags=20).build()
    path = tmp_path / "a.flv"
    path.write_bytes(data)
    assert len(list(read_flv(path, chunk_size=100))) == 23
    path.write_bytes(data[:-5])
    with pytest.raises(FLVError, match="ends inside a tag"):
        list(read_flv(path))
    path.write_bytes(b"")
    with pytest.raises(FLVError, match="no FLV header"):
        list(read_flv(path))


def tags_of(source: GeneratedFLV, start: int, stop: int) -> list[FLVTag]:
    return FLVParser().feed(
        source.header() + b"".join(source.config_tags()) + b"".join(source.media(start, stop))
    )


def test_dedup_skips_the_overlap_only():
    source = GeneratedFLV(media_tags=None)
    dedup = TagDeduplicator()
    first = [t for t in tags_of(source, 0, 40) if dedup.is_new(t)]
    assert len(first) == 43
    dedup.reconnected()
    again = [t for t in tags_of(source, 30, 60) if dedup.is_new(t)]
    assert [media_index(t) for t in again] == [None] * 3 + list(range(40, 60))
    assert dedup.skipped == 10 and not dedup.timeline_reset


def test_dedup_equal_timestamp_different_data_is_new():
    dedup = TagDeduplicator()
    a = FLVTag(AUDIO, 100, encode_tag(AUDIO, 100, b"\xaf\x01one"))
    b = FLVTag(AUDIO, 100, encode_tag(AUDIO, 100, b"\xaf\x01two"))
    assert dedup.is_new(a)
    dedup.reconnected()
    assert not dedup.is_new(a)
    assert dedup.is_new(b)
    assert dedup.last_timestamp == 100


def test_dedup_timeline_reset_keeps_everything():
    dedup = TagDeduplicator(reset_window=1000)
    source = GeneratedFLV(media_tags=None, start_ms=100_000)
    assert all(dedup.is_new(t) for t in tags_of(source, 0, 10))
    dedup.reconnected()
    fresh = GeneratedFLV(media_tags=None)  # the server's clock restarted at 0
    assert all(dedup.is_new(t) for t in tags_of(fresh, 0, 10))
    assert dedup.timeline_reset and dedup.skipped == 0


def test_generator_options():
    audio_only = GeneratedFLV(media_tags=10, video=False)
    tags = FLVParser().feed(audio_only.build())
    assert {t.kind for t in tags[2:]} == {AUDIO}
    with pytest.raises(ValueError):
        GeneratedFLV(audio=False, video=False)
    with pytest.raises(ValueError):
        GeneratedFLV(media_tags=None).build()
