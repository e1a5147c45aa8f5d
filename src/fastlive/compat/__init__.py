"""TikTokLive compatibility: run TikTokLive scripts by changing only their imports.

    from TikTokLive import TikTokLiveClient             ->  from fastlive.compat import TikTokLiveClient
    from TikTokLive.events import CommentEvent, ...    ->  from fastlive.compat.events import ...
    from TikTokLive.client.errors import ...           ->  from fastlive.compat.errors import ...

Event classes and their attribute names are fastlive's, which follow
TikTokLive's (``event.comment``, ``event.user.nickname``, ``event.gift.name``,
``event.repeat_count``, ``event.streaking``...).  What does not carry over:
the betterproto message objects themselves (use ``event.proto()`` for every
field; ``WebsocketResponseEvent.raw`` is a :class:`fastlive.Batch`, the decoded
fetch result).  Handlers run in arrival order, async ones awaited one after
another (TikTokLive runs them as concurrent tasks).
"""

from fastlive.compat.client import LogLevel, TikTokLiveClient
from fastlive.compat.errors import (
    AgeRestrictedError,
    AlreadyConnectedError,
    SignAPIError,
    SignatureMissingTokensError,
    SignatureRateLimitError,
    TikTokLiveError,
    UserNotFoundError,
    UserOfflineError,
    WebcastBlockedError,
)

__all__ = [
    "AgeRestrictedError",
    "AlreadyConnectedError",
    "LogLevel",
    "SignAPIError",
    "SignatureMissingTokensError",
    "SignatureRateLimitError",
    "TikTokLiveClient",
    "TikTokLiveError",
    "UserNotFoundError",
    "UserOfflineError",
    "WebcastBlockedError",
]
