"""Every error fastlive raises, in one tree.

    FastLiveError
    ├── DecodeError                 bytes from the socket that are not a valid frame
    ├── WebError                    TikTok's web API answered badly or not at all
    │   ├── UserNotFoundError       the @handle does not exist
    │   ├── UserOfflineError        the user exists but is not live
    │   ├── AgeRestrictedError      the room needs a logged-in session
    │   ├── RateLimitedError        TikTok answered 429
    │   └── TikTokBlockedError      TikTok answered 403 or a captcha page instead of JSON
    │       └── WafBlockedError     TikTok's WAF blocked this address (also a RateLimitedError)
    ├── SignAPIError                the sign server failed
    │   ├── SignatureRateLimitError 429 from the sign server (carries retry_after)
    │   ├── SignServerUnavailableError  the sign server could not be reached
    │   └── SignatureMissingTokensError the answer lacked cookies or a websocket URL
    ├── WebcastBlockedError         TikTok refused the websocket upgrade (not retried)
    │   └── DeviceBlockedError      DEVICE_BLOCKED on the direct websocket (a new ttwid may help)
    ├── ConnectError                the websocket could not be opened or died for good
    │   └── TtwidMissingError       no ttwid cookie could be minted for the direct connection
    ├── AlreadyConnectedError       start() on a client that is already running
    ├── DashboardError              the dashboard cannot bind as asked (address, token, port)
    ├── SinkError                   a database sink refused a batch, or cannot be set up
    │   └── SinkUnavailableError    the database cannot be reached or went away (retried)
    ├── ReportError                 a report cannot read its database (missing, not fastlive, down)
    ├── FleetError                  NATS cannot be reached or the fleet's buckets cannot be used
    └── StreamError                 the live video: finding, fetching or recording it failed
        ├── StreamUnavailableError  the room is offline or its room info has no stream data
        ├── StreamQualityError      the asked quality or format is not offered (.available)
        ├── StreamHTTPError         a stream URL answered an HTTP error: 403, 404... (.status)
        ├── StreamStalledError      the stream sent nothing for too long, reconnecting did not help
        ├── FLVError                bytes that are not valid FLV (.offset, .reason)
        ├── DiskFullError           the disk filled up while recording; what was written is kept
        └── RemuxError              ffmpeg is missing or could not remux the recording

Every message says what the user can do next.  Secrets never appear in them:
messages are built from status codes, URLs without credentials and TikTok's
own reason strings, never from cookies or API keys.
"""

from __future__ import annotations

__all__ = [
    "AgeRestrictedError",
    "AlreadyConnectedError",
    "ConnectError",
    "DashboardError",
    "DecodeError",
    "DeviceBlockedError",
    "DiskFullError",
    "FLVError",
    "FastLiveError",
    "FleetError",
    "RateLimitedError",
    "RecordingError",
    "RemuxError",
    "ReportError",
    "SignAPIError",
    "SignServerUnavailableError",
    "SignatureMissingTokensError",
    "SignatureRateLimitError",
    "SinkError",
    "SinkUnavailableError",
    "StreamError",
    "StreamHTTPError",
    "StreamQualityError",
    "StreamStalledError",
    "StreamUnavailableError",
    "TikTokBlockedError",
    "TtwidMissingError",
    "UserNotFoundError",
    "UserOfflineError",
    "WafBlockedError",
    "WebError",
    "WebcastBlockedError",
]


class FastLiveError(Exception):
    """Base class of every error fastlive raises."""


class DecodeError(FastLiveError, ValueError):
    """Bytes that are not a valid push frame, batch or message.

    Attributes:
        offset: byte offset in the buffer being parsed where the problem was found.
        reason: what was wrong, in a few words.
        method: the message's method name, when the error is inside one message.
    """

    def __init__(self, reason: str, offset: int = 0, method: str | None = None) -> None:
        self.reason = reason
        self.offset = offset
        self.method = method
        where = f" in {method}" if method else ""
        super().__init__(f"{reason} at offset {offset}{where}")

    def __reduce__(self):  # keep pickling (multiprocessing, logging handlers) working
        return (type(self), (self.reason, self.offset, self.method))


class WebError(FastLiveError):
    """TikTok's web API failed; ``status`` is the HTTP status when there was one."""

    def __init__(self, message: str, *, status: int | None = None) -> None:
        self.status = status
        super().__init__(message)


class UserNotFoundError(WebError):
    """The @handle does not exist (check the spelling, without the @ is fine)."""

    def __init__(self, unique_id: str, message: str | None = None) -> None:
        self.unique_id = unique_id
        super().__init__(
            message or f"TikTok user @{unique_id} does not exist: check the spelling of the handle"
        )


class UserOfflineError(WebError):
    """The user exists but is not live now."""

    def __init__(self, unique_id: str, message: str | None = None) -> None:
        self.unique_id = unique_id
        super().__init__(
            message
            or f"@{unique_id} is not live now: try again when the stream starts, "
            "or use fastlive.Monitor to wait for it"
        )


class AgeRestrictedError(WebError):
    """The room is age-restricted: only a logged-in session can see it."""


class RateLimitedError(WebError):
    """TikTok's web API answered 429; wait ``retry_after`` seconds (when known)."""

    def __init__(self, message: str, *, retry_after: float | None = None) -> None:
        self.retry_after = retry_after
        super().__init__(message, status=429)


class SignAPIError(FastLiveError):
    """The sign server failed; ``status`` is its HTTP status when it answered."""

    def __init__(self, message: str, *, status: int | None = None) -> None:
        self.status = status
        super().__init__(message)


class SignatureRateLimitError(SignAPIError):
    """The sign server answered 429.

    Attributes:
        retry_after: seconds to wait before the next request.
        reset_time: when the limit resets, as a Unix timestamp in seconds, if the server said.
    """

    def __init__(
        self, message: str, *, retry_after: float, reset_time: float | None = None
    ) -> None:
        self.retry_after = retry_after
        self.reset_time = reset_time
        super().__init__(message, status=429)


class SignServerUnavailableError(SignAPIError):
    """The sign server could not be reached (down, wrong URL, network)."""


class SignatureMissingTokensError(SignAPIError):
    """The sign server answered 200 without what a connection needs."""


class WebcastBlockedError(FastLiveError):
    """TikTok refused the websocket upgrade (HTTP 200/400/415 instead of 101).

    ``handshake_msg`` is TikTok's reason (header ``Handshake-Msg``) when given.
    Retrying at once does not help.
    """

    def __init__(self, message: str, *, status: int | None = None, handshake_msg: str = "") -> None:
        self.status = status
        self.handshake_msg = handshake_msg
        super().__init__(message)


class ConnectError(FastLiveError):
    """The websocket could not be opened, or died and could not be reopened."""


class AlreadyConnectedError(FastLiveError):
    """start() or connect() called on a client that is already connected."""


class StreamError(FastLiveError):
    """The live video could not be found, fetched or recorded.

    ``paths`` lists the finished files a recording kept before the error (empty
    when nothing was written); each is a valid FLV up to its last complete tag.
    """

    def __init__(self, message: str, *, paths: tuple[str, ...] = ()) -> None:
        self.paths = tuple(paths)
        super().__init__(message)


class StreamUnavailableError(StreamError):
    """The room is offline, or its room info carries no stream URLs."""


class StreamQualityError(StreamError):
    """The asked quality or format is not offered; ``available`` lists what is."""

    def __init__(self, message: str, *, available: tuple[str, ...] = ()) -> None:
        self.available = tuple(available)
        super().__init__(message)


class StreamHTTPError(StreamError):
    """A stream URL answered an HTTP error (403: expired or not allowed, 404: gone)."""

    def __init__(self, message: str, *, status: int, paths: tuple[str, ...] = ()) -> None:
        self.status = status
        super().__init__(message, paths=paths)


class StreamStalledError(StreamError):
    """The stream sent no bytes for the stall timeout, and reconnecting did not help."""


class FLVError(StreamError, ValueError):
    """Bytes that are not valid FLV: ``reason`` at byte ``offset`` of the stream."""

    def __init__(self, reason: str, offset: int = 0) -> None:
        self.reason = reason
        self.offset = offset
        super().__init__(f"not a valid FLV stream: {reason} at byte {offset}")

    def __reduce__(self):  # keep pickling working
        return (type(self), (self.reason, self.offset))


class DiskFullError(StreamError):
    """The disk filled up (or a file size limit was hit) while recording.

    Recording stopped; every file in ``paths`` is kept and valid up to its last
    complete tag.  Free some space and record again into a new file.
    """


class RemuxError(StreamError):
    """ffmpeg is not installed, or it could not remux the recording to MP4."""


class TikTokBlockedError(WebError):
    """TikTok's web API refused this client: HTTP 403, or a page that is not JSON.

    TikTok has flagged the IP or the browser identity.  Waiting, another
    network or proxy, or a sign server (``connect="signed"``) is what helps.
    """


class WafBlockedError(TikTokBlockedError, RateLimitedError):
    """TikTok's WAF blocked this address: the SlardarWAF page, or a 403 or 429 from the web side.

    The whole egress (this IP) is blocked for minutes, and every request made
    during the block prolongs it.  Wait for the cool-down (``retry_after``
    seconds when known) without sending anything, lower the web request rate
    (``--web-rate``, ``Settings.web_rate``), or spread rooms over proxies.
    """

    def __init__(
        self, message: str, *, status: int | None = None, retry_after: float | None = None
    ) -> None:
        self.retry_after = retry_after
        WebError.__init__(self, message, status=status)

    def __reduce__(self):  # keep pickling working (keyword-only arguments)
        return (type(self), (self.args[0],), self.__dict__)


class DeviceBlockedError(WebcastBlockedError):
    """The direct websocket answered ``DEVICE_BLOCKED`` (``Handshake-Status`` 415).

    TikTok flagged the ``ttwid`` cookie or the user agent: the client mints a
    new pair and retries; it only reaches you when that kept failing.
    """


class TtwidMissingError(ConnectError):
    """No ``ttwid`` cookie could be minted from TikTok's profile pages.

    Attributes:
        attempts: the rounds of requests made before giving up.
        unreachable: True when TikTok could not be reached at all (network,
            DNS, TLS, proxy), which retrying at once does not fix.
    """

    def __init__(self, message: str, *, attempts: int = 0, unreachable: bool = False) -> None:
        self.attempts = attempts
        self.unreachable = unreachable
        super().__init__(message)

    def __reduce__(self):  # keep pickling working (keyword-only arguments)
        return (type(self), (self.args[0],), self.__dict__)


class RecordingError(FastLiveError):
    """A file that is not a fastlive recording, or could not be written.

    Check the path: record into a new file, or replay a file ``fastlive watch --record`` wrote.
    """


class DashboardError(FastLiveError):
    """The dashboard cannot serve as asked: a bad ``HOST:PORT``, a non-loopback address
    without a token, or a port already in use.

    Bind to 127.0.0.1 (the default), pass ``--dashboard-token``, or pick another port.
    """


class SinkError(FastLiveError):
    """A sink (a database the events go to) refused a batch or cannot be set up.

    The message names the database (never its password) and the driver's reason: fix the
    target (permissions, a newer schema, a missing driver) and start again.
    """


class SinkUnavailableError(SinkError):
    """The database cannot be reached or went away: the write is retried on the next call.

    A ``BufferedSink`` retries with backoff and spills to a local file meanwhile; check that
    the server is up and the DSN or path is right.
    """


class ReportError(FastLiveError):
    """``fastlive report`` cannot read its database: missing, not a fastlive database,
    unreachable, or without the room asked for.  The message says which, and what to do."""


class FleetError(FastLiveError):
    """The fleet cannot reach NATS, or its stream and buckets cannot be used: start
    ``nats-server -js`` (JetStream on), check the URL, or install ``fastlive[fleet]``."""
