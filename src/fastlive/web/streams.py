"""The live video's URLs: every quality and format a room offers, typed.

Room info (``/webcast/room/info/``, protocol.md §1.7) carries the video in two
shapes, and :func:`parse_stream_urls` reads both into :class:`StreamUrl`:

* ``stream_url.live_core_sdk_data.pull_data.stream_data``: a JSON *string*
  whose ``data`` maps a quality (``ld``, ``sd``, ``hd``, ``uhd``, ``origin``) to
  ``main.flv`` / ``main.hls`` / ``main.cmaf``, with ``main.sdk_params`` (another
  JSON string: ``vbitrate``, ``resolution``, ``VCodec``); ``pull_data.options.
  qualities[]`` names each ``sdk_key`` and may also give bitrate and resolution.
* older rooms: ``stream_url.flv_pull_url`` and ``hls_pull_url_map`` (or a map
  in ``hls_pull_url``) keyed ``FULL_HD1``, ``HD1``, ``SD1``, ``SD2``, plus
  ``rtmp_pull_url`` (the origin FLV) and a bare ``hls_pull_url`` string.

The newer shape wins: a legacy URL is kept only for a (quality, format) pair the
SDK data does not already give.  :func:`pick_stream` then chooses one URL, with
the fallback order documented there.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Mapping
from typing import Any

import msgspec

from fastlive.exceptions import AgeRestrictedError, StreamQualityError, StreamUnavailableError
from fastlive.web._http import json_object

__all__ = ["FORMATS", "QUALITIES", "StreamUrl", "parse_stream_urls", "pick_stream"]

logger = logging.getLogger("fastlive.web.streams")

QUALITIES = ("origin", "uhd", "hd", "sd", "ld")
"""Every quality name, best first."""
FORMATS = ("flv", "hls", "cmaf")
"""Every format name, in the order listed (FLV first: it is what the recorder reads)."""

LEGACY_QUALITIES = {
    "ORIGION": "origin",  # sic: TikTok's spelling
    "ORIGIN": "origin",
    "FULL_HD1": "uhd",
    "HD1": "hd",
    "SD1": "sd",
    "SD2": "ld",
}
"""Quality keys of ``flv_pull_url`` / ``hls_pull_url_map`` and what they mean here."""
ROOM_OFFLINE = 4
"""Room status 4: offline or ended (2 live, 3 paused)."""
_KBPS_BELOW = 20_000
"""A ``vbitrate`` below this is taken to be in kbit/s (TikTok usually gives bit/s)."""


class StreamUrl(msgspec.Struct, frozen=True, gc=False, kw_only=True):
    """One URL of the live video.

    Attributes:
        quality: ``origin``, ``uhd``, ``hd``, ``sd`` or ``ld`` (see :data:`QUALITIES`).
        format: ``flv``, ``hls`` or ``cmaf``.
        url: where to fetch it (signed by TikTok; it expires).
        bitrate: video bitrate in bit/s, when TikTok gives it.
        width, height: picture size in pixels, when TikTok gives it.
        codec: video codec (``h264``, ``bytevc1``...), when TikTok gives it.
        name: TikTok's display name of the quality (``"HD"``, ``"Origin"``), if any.
        legacy: True when the URL came from the older ``*_pull_url`` maps.
    """

    quality: str
    format: str
    url: str
    bitrate: int | None = None
    width: int | None = None
    height: int | None = None
    codec: str | None = None
    name: str | None = None
    legacy: bool = False

    @property
    def resolution(self) -> str | None:
        """``"WIDTHxHEIGHT"`` when known."""
        if self.width and self.height:
            return f"{self.width}x{self.height}"
        return None


def parse_stream_urls(room_info: Mapping[str, Any]) -> list[StreamUrl]:
    """Every stream URL in room info, best quality first, then FLV, HLS, CMAF.

    Args:
        room_info: the ``data`` object of room info (what ``TikTokWeb.fetch_room_info``
            returns), or the whole response body holding it under ``data``.

    Raises:
        AgeRestrictedError: the room info is the age-restricted stub.
        StreamUnavailableError: the room is offline, or has no stream URL at all.
    """
    info = _room_data(room_info)
    restricted = info.get("age_restricted")
    if "prompts" in info or (isinstance(restricted, dict) and restricted.get("restricted")):
        raise AgeRestrictedError(
            "The room is age-restricted: its video needs a logged-in session "
            "(set_session(sessionid, tt_target_idc), or --session-id in the CLI)"
        )
    room = info.get("id_str") or info.get("id") or "?"
    if info.get("status") == ROOM_OFFLINE:
        raise StreamUnavailableError(f"Room {room} is offline: there is no video to fetch")
    stream_url = info.get("stream_url")
    found: dict[tuple[str, str], StreamUrl] = {}
    if isinstance(stream_url, dict):
        for item in _sdk_urls(stream_url):
            found.setdefault((item.quality, item.format), item)
        for item in _legacy_urls(stream_url):
            found.setdefault((item.quality, item.format), item)
    if not found:
        raise StreamUnavailableError(
            f"Room {room} has no stream URL in its room info: the stream may not have "
            "started yet, or TikTok hides it from this client (try again, or log in)"
        )
    return sorted(found.values(), key=_rank)


def pick_stream(
    urls: Iterable[StreamUrl], quality: str = "hd", fmt: str = "flv", *, fallback: bool = True
) -> StreamUrl:
    """The URL of ``quality`` in ``fmt``, or the nearest one the room offers.

    Fallback order, when the room does not offer ``quality``: the next *lower*
    qualities, nearest first (never more bandwidth than asked), then the next
    higher ones, nearest first.  For ``hd``: hd, sd, ld, uhd, origin.  ``"best"``
    and ``"worst"`` pick the best or worst offered.

    Args:
        urls: what :func:`parse_stream_urls` returned.
        quality: one of :data:`QUALITIES`, ``"best"`` or ``"worst"``.
        fmt: one of :data:`FORMATS`.
        fallback: False makes a missing quality an error instead.

    Raises:
        StreamUnavailableError: ``urls`` is empty.
        StreamQualityError: the quality or format name is unknown, the room offers
            nothing in ``fmt``, or (``fallback=False``) not ``quality``; the
            message and ``.available`` say what it does offer.
    """
    quality, fmt = quality.lower(), fmt.lower()
    urls = list(urls)
    if not urls:
        raise StreamUnavailableError("The room offers no stream URL")
    if fmt not in FORMATS:
        raise StreamQualityError(
            f"Unknown format {fmt!r}: use one of {', '.join(FORMATS)}", available=FORMATS
        )
    if quality not in QUALITIES and quality not in ("best", "worst"):
        raise StreamQualityError(
            f"Unknown quality {quality!r}: use one of {', '.join(QUALITIES)}, best or worst",
            available=QUALITIES,
        )
    by_quality = {u.quality: u for u in urls if u.format == fmt}
    if not by_quality:
        formats = tuple(f for f in FORMATS if any(u.format == f for u in urls))
        raise StreamQualityError(
            f"The room offers no {fmt} stream; it offers {', '.join(formats)}",
            available=formats,
        )
    offered = tuple(q for q in QUALITIES if q in by_quality)
    if quality == "best":
        return by_quality[offered[0]]
    if quality == "worst":
        return by_quality[offered[-1]]
    if quality in by_quality:
        return by_quality[quality]
    if not fallback:
        raise StreamQualityError(
            f"The room offers no {quality} {fmt} stream; it offers {', '.join(offered)}",
            available=offered,
        )
    for candidate in fallback_order(quality):
        if candidate in by_quality:
            logger.info("no %s stream in this room; using %s", quality, candidate)
            return by_quality[candidate]
    raise AssertionError("unreachable: offered is not empty")  # pragma: no cover


def fallback_order(quality: str) -> tuple[str, ...]:
    """The qualities tried for ``quality``: itself, lower ones nearest first, then higher."""
    i = QUALITIES.index(quality)
    return (quality, *QUALITIES[i + 1 :], *reversed(QUALITIES[:i]))


# -- internals -------------------------------------------------------------------


def _room_data(room_info: Mapping[str, Any]) -> Mapping[str, Any]:
    data = room_info.get("data")
    if "stream_url" not in room_info and isinstance(data, dict):
        return data  # the whole response body
    return room_info


def _rank(item: StreamUrl) -> tuple[int, int]:
    return (QUALITIES.index(item.quality), FORMATS.index(item.format))


def _json_object(value: Any) -> dict[str, Any]:
    """A dict from a dict or from a JSON string holding one; {} otherwise."""
    if isinstance(value, dict):
        return value
    if isinstance(value, (str, bytes)):
        return json_object(value) or {}
    return {}


def _int(value: Any) -> int | None:
    try:
        number = int(float(value))
    except (TypeError, ValueError, OverflowError):
        return None
    return number if number > 0 else None


def _size(value: Any) -> tuple[int | None, int | None]:
    """``"720x1280"`` -> (720, 1280); (None, None) when not of that shape."""
    if not isinstance(value, str) or "x" not in value.lower():
        return None, None
    w, _, h = value.lower().partition("x")
    return _int(w), _int(h)


def _bitrate(value: Any) -> int | None:
    number = _int(value)
    if number is not None and number < _KBPS_BELOW:
        number *= 1000
    return number


def _sdk_urls(stream_url: dict[str, Any]) -> Iterable[StreamUrl]:
    pull = _json_object(_json_object(stream_url.get("live_core_sdk_data")).get("pull_data"))
    data = _json_object(pull.get("stream_data")).get("data")
    if not isinstance(data, dict):
        return
    options: dict[str, dict[str, Any]] = {}
    qualities = _json_object(pull.get("options")).get("qualities")
    for option in qualities if isinstance(qualities, list) else ():
        if isinstance(option, dict) and option.get("sdk_key"):
            options[str(option["sdk_key"]).lower()] = option
    for key, entry in data.items():
        quality = str(key).lower()
        main = entry.get("main") if isinstance(entry, dict) else None
        if quality not in QUALITIES or not isinstance(main, dict):
            continue
        params = _json_object(main.get("sdk_params"))
        option = options.get(quality, {})
        width, height = _size(params.get("resolution") or option.get("resolution"))
        bitrate = _bitrate(params.get("vbitrate") or option.get("v_bit_rate"))
        codec = params.get("VCodec") or params.get("vcodec")
        name = option.get("name")
        for fmt in FORMATS:
            url = main.get(fmt)
            if isinstance(url, str) and url.startswith(("http://", "https://")):
                yield StreamUrl(
                    quality=quality,
                    format=fmt,
                    url=url,
                    bitrate=bitrate,
                    width=width,
                    height=height,
                    codec=str(codec) if codec else None,
                    name=str(name) if name else None,
                )


def _legacy_urls(stream_url: dict[str, Any]) -> Iterable[StreamUrl]:
    hls_map = stream_url.get("hls_pull_url_map")
    if not isinstance(hls_map, dict) and isinstance(stream_url.get("hls_pull_url"), dict):
        hls_map = stream_url["hls_pull_url"]
    for fmt, mapping in (("flv", stream_url.get("flv_pull_url")), ("hls", hls_map)):
        if not isinstance(mapping, dict):
            continue
        for key, url in mapping.items():
            quality = LEGACY_QUALITIES.get(str(key).upper())
            if quality and isinstance(url, str) and url.startswith(("http://", "https://")):
                yield StreamUrl(quality=quality, format=fmt, url=url, legacy=True)
    rtmp = stream_url.get("rtmp_pull_url")
    if isinstance(rtmp, str) and rtmp.startswith(("http://", "https://")):
        yield StreamUrl(quality="origin", format="flv", url=rtmp, legacy=True)
    hls = stream_url.get("hls_pull_url")
    if isinstance(hls, str) and hls.startswith(("http://", "https://")):
        # A bare string is the room's default quality (``default_resolution``).
        default = LEGACY_QUALITIES.get(str(stream_url.get("default_resolution", "")).upper())
        yield StreamUrl(quality=default or "origin", format="hls", url=hls, legacy=True)
