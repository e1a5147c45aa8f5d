"""The room info ``stream_url`` object that points a client at FLV URLs: the SDK shape
(``live_core_sdk_data``) and, optionally, the legacy ``flv_pull_url`` maps."""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

__all__ = ["room_stream_url"]

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
