"""How one connection attempt ended, and the libraries' errors translated at the boundary.

Everything ``websockets`` and the sign server can raise while a room connects is
turned here into a fastlive error (``fastlive.exceptions``) and an
:class:`~fastlive.supervisor.Outcome` for the supervisor, so users never catch a
dependency's exception type and the retry policy sees one vocabulary.
"""

from __future__ import annotations

import asyncio

from websockets.asyncio.client import ClientConnection
from websockets.exceptions import ConnectionClosed, InvalidHandshake, InvalidStatus

from fastlive.exceptions import (
    ConnectError,
    DeviceBlockedError,
    SignAPIError,
    SignatureMissingTokensError,
    WebcastBlockedError,
)
from fastlive.supervisor import Outcome
from fastlive.web.direct import direct_upgrade_error

__all__ = [
    "OPEN_ERRORS",
    "Ended",
    "open_failed",
    "refusal",
    "retryable_sign_error",
    "socket_end",
    "upgrade_error",
]

# Upgrade statuses worth retrying (TikTok's own trouble); any other non-101 is a block.
_RETRYABLE_UPGRADE = range(500, 600)


class Ended:
    """How one connection attempt ended: the outcome for the supervisor, and why."""

    __slots__ = ("code", "error", "last_rx", "outcome", "reason", "wait")

    def __init__(
        self,
        outcome: Outcome,
        reason: str,
        *,
        code: int | None = None,
        error: BaseException | None = None,
        wait: float | None = None,
        last_rx: float | None = None,
    ) -> None:
        self.outcome = outcome
        self.reason = reason
        self.code = code
        self.error = error
        self.wait = wait
        """Seconds to wait before the next attempt, when the server said (``retry_after``)."""
        self.last_rx = last_rx
        """Loop time of the last data received, for a stalled socket."""


def open_failed(exc: BaseException, url: str, target: str, *, direct: bool) -> Ended:
    """A websocket that did not open: the fastlive error and its outcome.

    ``exc`` is what ``websockets.connect`` raised (a refused upgrade, a network
    error, a timeout or a broken handshake); ``target`` is ``url`` safe to log.
    """
    mode = "direct" if direct else "signed"
    if isinstance(exc, InvalidStatus):
        response = exc.response
        if direct:
            error: Exception = direct_upgrade_error(response.status_code, response.headers, url)
        else:
            error = upgrade_error(exc, target)
        if isinstance(error, DeviceBlockedError):
            outcome = Outcome.DEVICE_BLOCKED
        elif isinstance(error, WebcastBlockedError):
            outcome = Outcome.REJECTED
        else:
            outcome = Outcome.ERROR
        return Ended(outcome, str(error), error=error)
    if isinstance(exc, (OSError, TimeoutError, asyncio.TimeoutError)):
        timed_out = isinstance(exc, (TimeoutError, asyncio.TimeoutError))
        text = "timed out" if timed_out else f"{type(exc).__name__}: {exc}"
        error = ConnectError(f"could not open the {mode} websocket to {target} ({text})")
        return Ended(Outcome.UNREACHABLE, str(error), error=error)
    error = ConnectError(f"the {mode} websocket upgrade to {target} failed ({exc})")
    return Ended(Outcome.ERROR, str(error), error=error)


OPEN_ERRORS = (OSError, TimeoutError, asyncio.TimeoutError, InvalidHandshake, ConnectionClosed)
"""What ``websockets.connect`` raises for a socket that did not open (see :func:`open_failed`)."""


def upgrade_error(exc: InvalidStatus, target: str) -> Exception:
    """Map a refused signed websocket upgrade to a fastlive error."""
    response = exc.response
    status = response.status_code
    message = response.headers.get("Handshake-Msg", "")
    if status in _RETRYABLE_UPGRADE:
        return ConnectError(f"websocket upgrade to {target} failed with HTTP {status}")
    why = f'"{message}"' if message else "no reason given"
    return WebcastBlockedError(
        f"TikTok refused the websocket with HTTP {status} ({why}): the client was likely "
        "detected or the signature is bad; retrying at once will not help, try another "
        "sign server, session or network",
        status=status,
        handshake_msg=message,
    )


def refusal(error: BaseException | None) -> BaseException | None:
    """``error`` when it is a refusal worth raising as it is (a blocked upgrade, a
    sign server that said no), not a ``DEVICE_BLOCKED`` a new ttwid may cure."""
    if isinstance(error, DeviceBlockedError):
        return None
    if isinstance(error, WebcastBlockedError):
        return error
    if isinstance(error, SignAPIError) and not retryable_sign_error(error):
        return error
    return None


def retryable_sign_error(exc: SignAPIError) -> bool:
    """Sign server trouble that may pass (5xx, unreachable, a 200 missing its tokens)."""
    if isinstance(exc, SignatureMissingTokensError):
        return True
    return exc.status is None or exc.status >= 500


def socket_end(ws: ClientConnection, stalled: bool, stall_timeout: float, last_rx: float) -> Ended:
    """How an open socket ended: stalled, closed by the server, or lost."""
    code = ws.close_code
    if stalled:
        reason = f"no data for {stall_timeout:g} s (stalled)"
        return Ended(Outcome.STALE, reason, code=code, last_rx=last_rx)
    lost = code is None or code == 1006
    reason = (
        "socket lost without a close frame"
        if lost
        else f"socket closed by the server (code {code})"
    )
    if lost or ws.protocol.close_rcvd is None:
        return Ended(Outcome.ERROR, reason, code=code)
    return Ended(Outcome.CLEAN_END, reason, code=code)
