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

from fastlive.testing.flv.cdn import FLVConnection, FLVRequest, FLVServer, FLVStream
from fastlive.testing.flv.generator import GeneratedFLV, media_index
from fastlive.testing.flv.stream_url import room_stream_url

__all__ = [
    "FLVConnection",
    "FLVRequest",
    "FLVServer",
    "FLVStream",
    "GeneratedFLV",
    "media_index",
    "room_stream_url",
]
