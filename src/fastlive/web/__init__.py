"""TikTok's web side: pages and JSON API, the sign server, ttwid, the direct handshake, stream URLs.

Every HTTP request fastlive makes to TikTok or a sign server starts here. This layer
serves the client and never imports it.
"""

from fastlive.web._http import make_http_client, parse_retry_after, safe_url
from fastlive.web.api import TikTokWeb, normalize_unique_id
from fastlive.web.signer import SignClient, SignedFetch
from fastlive.web.streams import StreamUrl, parse_stream_urls, pick_stream
from fastlive.web.ttwid import TtwidMinter, TtwidPool, TtwidSession

__all__ = [
    "SignClient",
    "SignedFetch",
    "StreamUrl",
    "TikTokWeb",
    "TtwidMinter",
    "TtwidPool",
    "TtwidSession",
    "make_http_client",
    "normalize_unique_id",
    "parse_retry_after",
    "parse_stream_urls",
    "pick_stream",
    "safe_url",
]
