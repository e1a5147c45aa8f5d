"""Stream URLs from room info: both shapes, typed, and the quality fallback order."""

from __future__ import annotations

import json

import pytest

from fastlive.exceptions import AgeRestrictedError, StreamQualityError, StreamUnavailableError
from fastlive.testing.flv import room_stream_url
from fastlive.web.streams import (
    QUALITIES,
    StreamUrl,
    fallback_order,
    parse_stream_urls,
    pick_stream,
)

URLS = {
    q: f"https://pull.example/stage/stream-1_{q}.flv?expire=1&sign=abc"
    for q in ("origin", "hd", "sd", "ld")
}


def room(stream_url: dict, **extra) -> dict:
    return {"id_str": "7001", "status": 2, "title": "t", "stream_url": stream_url, **extra}


def test_sdk_shape_every_quality_and_format():
    urls = parse_stream_urls(room(room_stream_url(URLS)))
    assert [(u.quality, u.format) for u in urls] == [
        (q, f) for q in ("origin", "hd", "sd", "ld") for f in ("flv", "hls", "cmaf")
    ]
    hd = next(u for u in urls if u.quality == "hd" and u.format == "flv")
    assert hd == StreamUrl(
        quality="hd",
        format="flv",
        url=URLS["hd"],
        bitrate=2_000_000,
        width=720,
        height=1280,
        codec="h264",
        name="HD",
    )
    assert hd.resolution == "720x1280"
    assert all(not u.legacy for u in urls)


def test_sdk_stream_data_real_layout_without_options():
    stream_data = {
        "common": {},
        "data": {
            "uhd": {
                "main": {
                    "flv": "https://a/uhd.flv",
                    "hls": "",
                    "cmaf": "",
                    "sdk_params": json.dumps({"vbitrate": 3000, "resolution": "1080x1920"}),
                }
            },
            "bogus": {"main": {"flv": "https://a/x.flv"}},
            "sd": "not a dict",
        },
    }
    info = room({"live_core_sdk_data": {"pull_data": {"stream_data": json.dumps(stream_data)}}})
    (url,) = parse_stream_urls(info)
    assert (url.quality, url.format, url.bitrate, url.width, url.height) == (
        "uhd",
        "flv",
        3_000_000,
        1080,
        1920,
    )  # a small vbitrate is kbit/s
    assert url.codec is None and url.name is None


def test_legacy_maps_and_precedence():
    stream = {
        "flv_pull_url": {
            "FULL_HD1": "https://l/uhd.flv",
            "HD1": "https://l/hd.flv",
            "SD2": "https://l/ld.flv",
            "WEIRD": "https://l/x.flv",
        },
        "hls_pull_url_map": {"HD1": "https://l/hd.m3u8"},
        "rtmp_pull_url": "https://l/origin.flv",
        "hls_pull_url": "https://l/default.m3u8",
        "default_resolution": "SD1",
        **room_stream_url({"hd": "https://sdk/hd.flv"}),
    }
    urls = parse_stream_urls(room(stream))
    got = {(u.quality, u.format): (u.url, u.legacy) for u in urls}
    assert got[("hd", "flv")] == ("https://sdk/hd.flv", False)  # the SDK shape wins
    assert got[("uhd", "flv")] == ("https://l/uhd.flv", True)
    assert got[("ld", "flv")] == ("https://l/ld.flv", True)
    assert got[("origin", "flv")] == ("https://l/origin.flv", True)
    assert got[("sd", "hls")] == ("https://l/default.m3u8", True)  # default_resolution
    assert got[("hd", "hls")] == ("https://sdk/hd.m3u8", False)
    assert [u.quality for u in urls] == sorted((u.quality for u in urls), key=QUALITIES.index)


def test_whole_body_and_dict_stream_data():
    stream = room_stream_url({"sd": "https://a/sd.flv"})
    pull = stream["live_core_sdk_data"]["pull_data"]
    pull["stream_data"] = json.loads(pull["stream_data"])  # already a dict
    urls = parse_stream_urls({"data": room(stream), "status_code": 0})
    assert {u.quality for u in urls} == {"sd"}


@pytest.mark.parametrize(
    "info, error, words",
    [
        (room(room_stream_url(URLS), status=4), StreamUnavailableError, "offline"),
        (room({}), StreamUnavailableError, "no stream URL"),
        ({"id_str": "1", "status": 2}, StreamUnavailableError, "no stream URL"),
        (
            room({"live_core_sdk_data": {"pull_data": {"stream_data": "{not json"}}}),
            StreamUnavailableError,
            "no stream URL",
        ),
        ({"prompts": "This LIVE is age-restricted"}, AgeRestrictedError, "logged-in"),
        (
            room(room_stream_url(URLS), age_restricted={"restricted": True}),
            AgeRestrictedError,
            "logged-in",
        ),
    ],
)
def test_rooms_without_a_usable_stream(info, error, words):
    with pytest.raises(error, match=words):
        parse_stream_urls(info)


def test_fallback_order_is_lower_first_then_higher():
    assert fallback_order("hd") == ("hd", "sd", "ld", "uhd", "origin")
    assert fallback_order("origin") == ("origin", "uhd", "hd", "sd", "ld")
    assert fallback_order("ld") == ("ld", "sd", "hd", "uhd", "origin")


def test_pick_exact_fallback_best_worst():
    urls = parse_stream_urls(
        room(room_stream_url({"origin": "https://a/o.flv", "sd": "https://a/sd.flv"}))
    )
    assert pick_stream(urls, "sd").url == "https://a/sd.flv"
    assert pick_stream(urls, "HD").quality == "sd"  # lower first
    assert pick_stream(urls, "ld").quality == "sd"  # nothing lower: nearest higher
    assert pick_stream(urls, "uhd").quality == "sd"
    assert pick_stream(urls, "best").quality == "origin"
    assert pick_stream(urls, "worst").quality == "sd"
    assert pick_stream(urls, "hd", "hls").url == "https://a/sd.m3u8"


def test_pick_errors_say_what_exists():
    urls = parse_stream_urls(
        room(room_stream_url({"origin": "https://a/o.flv", "sd": "https://a/sd.flv"}))
    )
    with pytest.raises(StreamQualityError, match="offers origin, sd") as info:
        pick_stream(urls, "hd", fallback=False)
    assert info.value.available == ("origin", "sd")
    with pytest.raises(StreamQualityError, match="Unknown quality '4k'.*origin, uhd, hd"):
        pick_stream(urls, "4k")
    with pytest.raises(StreamQualityError, match="Unknown format"):
        pick_stream(urls, "hd", "rtmp")
    only_flv = [u for u in urls if u.format == "flv"]
    with pytest.raises(StreamQualityError, match="no hls stream; it offers flv"):
        pick_stream(only_flv, "hd", "hls")
    with pytest.raises(StreamUnavailableError):
        pick_stream([], "hd")
