"""TikTokLive's error names (``TikTokLive.client.errors``) as fastlive's errors.

Each name is the fastlive class itself, so ``except UserOfflineError`` catches
what fastlive raises.  ``TikTokLiveError`` is fastlive's base error.
"""

from fastlive.exceptions import (
    AgeRestrictedError,
    AlreadyConnectedError,
    FastLiveError,
    SignAPIError,
    SignatureMissingTokensError,
    SignatureRateLimitError,
    UserNotFoundError,
    UserOfflineError,
    WebcastBlockedError,
)

TikTokLiveError = FastLiveError
WebcastBlocked200Error = WebcastBlockedError  # TikTokLive's name before 6.x

__all__ = [
    "AgeRestrictedError",
    "AlreadyConnectedError",
    "SignAPIError",
    "SignatureMissingTokensError",
    "SignatureRateLimitError",
    "TikTokLiveError",
    "UserNotFoundError",
    "UserOfflineError",
    "WebcastBlocked200Error",
    "WebcastBlockedError",
]
