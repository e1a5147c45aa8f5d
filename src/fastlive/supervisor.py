"""The reconnect policy of one room, direct and signed, with no I/O (sans-I/O).

The client tells a :class:`Supervisor` how each connection attempt ended and
how long it lived; the supervisor answers with a :class:`Decision`: reconnect
after a delay (rotating the ``ttwid`` session or keeping it, in which mode),
give up with a reason, or stop for good.  It owns no clock (``now`` is passed
in), sleeps never, and logs nothing, so every rule is a table row in a test.

    supervisor = Supervisor(ConnectMode.AUTO, signer_configured=True)
    mode = supervisor.mode                       # DIRECT: the first attempt
    decision = supervisor.attempt_ended(Outcome.DEVICE_BLOCKED, lived=0.4, now=t)
    # decision.action RECONNECT, .delay 2.0, .rotate True, .mode DIRECT

Theory of operation (protocol.md §2.8.8, improved):

- An attempt is *healthy* when it ended cleanly, stale or by an error after
  living at least ``healthy_session`` seconds (from the handshake start;
  for ``STALE``, pass the time up to the last inbound frame).  A healthy
  end sets ``n = 1``; any other end sets ``n = n + 1``.  When ``n`` exceeds
  the mode's retry budget the mode is spent.
- Delay: ``device_blocked_delay`` after DEVICE_BLOCKED, else
  ``min(backoff_initial * 2**(n-1), backoff_max)`` (2, 4, 8, 16, 30 s), each
  scaled by a random factor in ``[1 - jitter, 1 + jitter]``; a backoff delay
  never exceeds ``backoff_max`` (:func:`fastlive.session.backoff_delay`).
- Session (direct only): rotate after MINT_FAILED, DEVICE_BLOCKED, REJECTED,
  and an ERROR that was not healthy; keep otherwise.
- ``STREAM_ENDED`` stops for good: a room that ended is never reconnected.
- ``auto`` with a sign server: DEVICE_BLOCKED twice in a row, MINT_FAILED
  (no ttwid after its retries) or UNREACHABLE (the direct host) switch the
  room to signed at once, as does a spent direct budget.  After
  ``cooldown`` seconds in signed, the next reconnect tries direct again;
  each bounce back to signed without a healthy direct attempt doubles the
  cool-down (up to 8x).  A spent signed budget goes back to direct unless
  direct is spent too.  Without a sign server, ``auto`` is ``direct``.
- ``signed`` alone: a REJECTED upgrade gives up at once (retrying a block
  does not help); other failures back off up to ``signed_max_retries``.
"""

from __future__ import annotations

import random
from collections.abc import Callable
from enum import Enum

import msgspec

from fastlive._config import (
    DEFAULT_DEVICE_BLOCKED_DELAY,
    DEFAULT_DIRECT_COOLDOWN,
    DEFAULT_DIRECT_MAX_RETRIES,
    DEFAULT_HEALTHY_SESSION,
    DEFAULT_RECONNECT_ATTEMPTS,
)
from fastlive.exceptions import ConnectError
from fastlive.session import backoff_delay, jittered

__all__ = [
    "Action",
    "ConnectMode",
    "Decision",
    "Outcome",
    "Supervisor",
    "SupervisorStats",
]

DIRECT_BACKOFF_INITIAL = 2.0
DIRECT_BACKOFF_MAX = 30.0
DIRECT_BACKOFF_FACTOR = 2.0
DEFAULT_JITTER = 0.2
MAX_COOLDOWN_FACTOR = 8
BLOCKED_TO_SWITCH = 2
"""DEVICE_BLOCKED answers in a row after which ``auto`` leaves direct."""


class ConnectMode(str, Enum):
    """How a room connects: ``direct`` (no sign server), ``signed``, or ``auto``."""

    DIRECT = "direct"
    SIGNED = "signed"
    AUTO = "auto"

    def __str__(self) -> str:
        return self.value

    @classmethod
    def parse(cls, value: str | ConnectMode | None) -> ConnectMode:
        """A mode from its name (any case, spaces ignored); None or empty is ``auto``.

        Raises:
            ValueError: not one of direct, signed, auto.
        """
        if isinstance(value, cls):
            return value
        text = (value or "").strip().lower()
        if not text:
            return cls.AUTO
        try:
            return cls(text)
        except ValueError:
            raise ValueError(
                f"{value!r} is not a connection mode: use auto, direct or signed"
            ) from None


DIRECT = ConnectMode.DIRECT
SIGNED = ConnectMode.SIGNED
AUTO = ConnectMode.AUTO


class Outcome(str, Enum):
    """How one connection attempt ended."""

    MINT_FAILED = "mint_failed"
    """No ttwid: every mint round missed, or TikTok's pages were unreachable."""
    DEVICE_BLOCKED = "device_blocked"
    """The direct upgrade answered DEVICE_BLOCKED (``Handshake-Status`` 415 / HTTP 415)."""
    REJECTED = "rejected"
    """Another refused upgrade (``WebcastBlockedError``): HTTP 200/400 instead of 101."""
    UNREACHABLE = "unreachable"
    """The websocket host could not be reached: DNS, TCP, TLS or connect timeout."""
    ERROR = "error"
    """An open socket failed (reset, protocol error), or a 5xx upgrade."""
    CLEAN_END = "clean_end"
    """The server closed the socket (close frame), without a stream end."""
    STALE = "stale"
    """Nothing arrived for the stall timeout; the client dropped the socket."""
    STREAM_ENDED = "stream_ended"
    """The stream ended (``LiveEndEvent``): never reconnect."""


class Action(str, Enum):
    """What the client does next."""

    RECONNECT = "reconnect"
    """Sleep ``delay`` seconds (interruptibly), then connect in ``mode``."""
    GIVE_UP = "give_up"
    """Raise ``Decision.error()``: the retry budget is spent."""
    STOP = "stop"
    """End normally: the stream is over."""


class Decision(msgspec.Struct, frozen=True, kw_only=True):
    """The supervisor's answer to one ended attempt.

    Attributes:
        action: reconnect, give up or stop.
        mode: the mode of the next attempt (``direct`` or ``signed``).
        delay: seconds to wait before it (jitter included).
        rotate: the room's ttwid session is bad: with ``mode`` direct, replace it
            (``TtwidPool.rotate``); with ``mode`` signed, drop it (``TtwidPool.discard``).
        attempt: the reconnect attempt number ``n`` (1 after a healthy end).
        max_retries: the budget ``n`` is measured against in ``mode``.
        switched: ``mode`` differs from the attempt that just ended.
        device_blocked: the attempt ended with DEVICE_BLOCKED.
        reason: one line for logs and ``ReconnectEvent.reason`` (no secrets).
    """

    action: Action
    mode: ConnectMode
    delay: float = 0.0
    rotate: bool = False
    attempt: int = 0
    max_retries: int = 0
    switched: bool = False
    device_blocked: bool = False
    reason: str = ""

    def error(self) -> ConnectError:
        """The error to raise on ``GIVE_UP`` (a ``ConnectError`` saying what to do)."""
        return ConnectError(self.reason)


class SupervisorStats(msgspec.Struct, kw_only=True):
    """Counters of one room's connection attempts.

    Attributes:
        attempts: attempts reported.
        switches: changes of mode (direct to signed and back).
        device_blocked: DEVICE_BLOCKED answers.
        mints: ttwid sessions this room obtained (``Supervisor.minted``).
        misses: mints that failed (MINT_FAILED outcomes).
        rotations: ttwid sessions this room was told to rotate.
    """

    attempts: int = 0
    switches: int = 0
    device_blocked: int = 0
    mints: int = 0
    misses: int = 0
    rotations: int = 0


_HEALTHY_ENDS = frozenset({Outcome.CLEAN_END, Outcome.STALE, Outcome.ERROR})
_ROTATE = frozenset({Outcome.MINT_FAILED, Outcome.DEVICE_BLOCKED, Outcome.REJECTED})
_DIRECT_ONLY_FAILURES = frozenset({Outcome.MINT_FAILED, Outcome.UNREACHABLE})


class Supervisor:
    """Reconnect decisions for one room (see the module docstring for the rules).

    Args:
        mode: the configured mode (``ConnectMode`` or its name).
        signer_configured: a sign server is usable (an API key or ``SIGN_API_URL``);
            without it ``auto`` never leaves direct.
        max_retries: direct attempts in a row that may fail (0: no reconnects).
        signed_max_retries: the same budget for signed attempts.
        healthy_session: seconds an attempt must live to count as healthy.
        device_blocked_delay: the wait after DEVICE_BLOCKED.
        backoff_initial, backoff_max: the exponential backoff (2, 4, ... capped).
        cooldown: seconds in signed before ``auto`` tries direct again.
        jitter: delays vary by +/- this fraction (0 for none).
        rand: a ``random.random``-like source (injectable for tests).
    """

    def __init__(
        self,
        mode: ConnectMode | str = AUTO,
        *,
        signer_configured: bool = False,
        max_retries: int = DEFAULT_DIRECT_MAX_RETRIES,
        signed_max_retries: int = DEFAULT_RECONNECT_ATTEMPTS,
        healthy_session: float = DEFAULT_HEALTHY_SESSION,
        device_blocked_delay: float = DEFAULT_DEVICE_BLOCKED_DELAY,
        backoff_initial: float = DIRECT_BACKOFF_INITIAL,
        backoff_max: float = DIRECT_BACKOFF_MAX,
        cooldown: float = DEFAULT_DIRECT_COOLDOWN,
        jitter: float = DEFAULT_JITTER,
        rand: Callable[[], float] = random.random,
    ) -> None:
        if not 0 <= jitter <= 1:
            raise ValueError("jitter must be between 0 and 1")
        if max_retries < 0 or signed_max_retries < 0:
            raise ValueError("retry budgets cannot be negative")
        self.configured = ConnectMode.parse(mode)
        self.signer_configured = signer_configured
        self._budget = {DIRECT: max_retries, SIGNED: signed_max_retries}
        self.healthy_session = healthy_session
        self.device_blocked_delay = device_blocked_delay
        self.backoff_initial = backoff_initial
        self.backoff_max = backoff_max
        self.base_cooldown = cooldown
        self.cooldown = cooldown
        self.jitter = jitter
        self._rand = rand
        self.mode = SIGNED if self.configured is SIGNED else DIRECT
        """The mode of the current (or next) attempt: ``direct`` or ``signed``."""
        self.n = 0
        self.blocked_streak = 0
        self.switched_at: float | None = None
        self._spent: set[ConnectMode] = set()
        self._bounced = False
        self.stats = SupervisorStats()

    def __repr__(self) -> str:
        return (
            f"Supervisor(configured={self.configured.value}, mode={self.mode.value}, "
            f"n={self.n}, stats={self.stats})"
        )

    @property
    def can_switch(self) -> bool:
        """True when this room may move between direct and signed (``auto`` + a signer)."""
        return self.configured is AUTO and self.signer_configured

    def direct_due(self, now: float) -> bool:
        """True when ``auto`` sits in signed and its cool-down is over."""
        return (
            self.can_switch
            and self.mode is SIGNED
            and self.switched_at is not None
            and now - self.switched_at >= self.cooldown
        )

    def lookup_refused(self, now: float) -> bool:
        """The direct room lookup was refused before any attempt: in ``auto`` with a
        signer, start signed (and try direct after the cool-down, as after any switch).

        Returns:
            True when the room moved to signed; False when it cannot switch.
        """
        if not self.can_switch or self.mode is SIGNED:
            return False
        self.mode = SIGNED
        self.switched_at = now
        self.n = 0
        self.stats.switches += 1
        return True

    def minted(self) -> None:
        """Count a ttwid session this room obtained (for ``stats.mints``)."""
        self.stats.mints += 1

    def attempt_ended(self, outcome: Outcome | str, lived: float, now: float) -> Decision:
        """Decide what follows an attempt that ended with ``outcome`` after ``lived`` s.

        Args:
            outcome: how it ended.
            lived: seconds from the handshake start to the end (for ``STALE``:
                to the last inbound frame).
            now: a monotonic clock reading (for the cool-down).
        """
        outcome = Outcome(outcome)
        stats = self.stats
        stats.attempts += 1
        mode = self.mode
        if outcome is Outcome.STREAM_ENDED:
            return Decision(action=Action.STOP, mode=mode, reason="the stream ended")
        if mode is SIGNED and outcome in (Outcome.MINT_FAILED, Outcome.DEVICE_BLOCKED):
            outcome = Outcome.REJECTED if outcome is Outcome.DEVICE_BLOCKED else Outcome.ERROR
        blocked = outcome is Outcome.DEVICE_BLOCKED
        healthy = outcome in _HEALTHY_ENDS and lived >= self.healthy_session
        if blocked:
            stats.device_blocked += 1
            self.blocked_streak += 1
        else:
            self.blocked_streak = 0
        if outcome is Outcome.MINT_FAILED:
            stats.misses += 1
        rotate = mode is DIRECT and (
            outcome in _ROTATE or (outcome is Outcome.ERROR and not healthy)
        )
        if healthy:
            self.n = 1
            self._spent.clear()
            if mode is DIRECT:
                self.cooldown = self.base_cooldown
                self._bounced = False
        else:
            self.n += 1
        why = _describe(outcome, lived)

        if self.can_switch:
            target = self._switch_target(outcome, now)
            if target is not None:
                return self._switch(target, now, why, rotate, blocked)
        if mode is SIGNED and outcome is Outcome.REJECTED:
            self._spent.add(SIGNED)
            return self._give_up(why, blocked)

        budget = self._budget[mode]
        if self.n > budget:
            return self._give_up(why, blocked)
        if rotate:
            stats.rotations += 1
        if blocked:
            delay = jittered(self.device_blocked_delay, self.jitter, rand=self._rand)
        else:
            delay = backoff_delay(
                self.n,
                self.backoff_initial,
                DIRECT_BACKOFF_FACTOR,
                self.backoff_max,
                self.jitter,
                rand=self._rand,
            )
        return Decision(
            action=Action.RECONNECT,
            mode=mode,
            delay=delay,
            rotate=rotate,
            attempt=self.n,
            max_retries=budget,
            device_blocked=blocked,
            reason=why,
        )

    # -- internals -------------------------------------------------------------

    def _switch_target(self, outcome: Outcome, now: float) -> ConnectMode | None:
        """The other mode, when this outcome moves an ``auto`` room there."""
        if self.mode is DIRECT:
            if self.n > self._budget[DIRECT]:
                self._spent.add(DIRECT)
                return None if SIGNED in self._spent else SIGNED
            if self.blocked_streak >= BLOCKED_TO_SWITCH or outcome in _DIRECT_ONLY_FAILURES:
                return None if SIGNED in self._spent else SIGNED
            return None
        if self.n > self._budget[SIGNED] or outcome is Outcome.REJECTED:
            self._spent.add(SIGNED)
            return None if DIRECT in self._spent else DIRECT
        if self.direct_due(now) and DIRECT not in self._spent:
            return DIRECT
        return None

    def _switch(
        self, target: ConnectMode, now: float, why: str, rotate: bool, blocked: bool
    ) -> Decision:
        previous = self.mode
        self.mode = target
        self.stats.switches += 1
        self.n = 0
        self.blocked_streak = 0
        if target is SIGNED:
            if self._bounced:  # direct failed again right after its cool-down
                self.cooldown = min(self.cooldown * 2, self.base_cooldown * MAX_COOLDOWN_FACTOR)
            self.switched_at = now
            how = f"switching to a signed connection (direct again in {self.cooldown:g} s)"
        else:
            self._bounced = True
            self.switched_at = None
            how = "trying the direct connection again"
        if rotate:
            self.stats.rotations += 1
        return Decision(
            action=Action.RECONNECT,
            mode=target,
            delay=0.0,
            rotate=rotate,
            attempt=0,
            max_retries=self._budget[target],
            switched=True,
            device_blocked=blocked,
            reason=f"{previous.value}: {why}; {how}",
        )

    def _give_up(self, why: str, blocked: bool) -> Decision:
        mode = self.mode
        if mode is SIGNED:
            hint = "check the sign server and its key, or try connect='direct'"
        elif self.signer_configured and self.configured is not DIRECT:
            hint = "the signed connection failed too; try later or from another network"
        else:
            hint = (
                "configure a sign server (SIGN_API_KEY or SIGN_API_URL) and connect='auto', "
                "use another network or proxy, or raise direct_max_retries"
            )
        if self._budget[mode] == 0:
            what = "reconnecting is off"
        else:
            what = f"{self._budget[mode]} failed attempts in a row"
        reason = f"gave up on the {mode.value} connection after {what} (last: {why}): {hint}"
        return Decision(
            action=Action.GIVE_UP,
            mode=mode,
            attempt=self.n,
            max_retries=self._budget[mode],
            device_blocked=blocked,
            reason=reason,
        )


def _describe(outcome: Outcome, lived: float) -> str:
    text = {
        Outcome.MINT_FAILED: "no ttwid cookie could be minted",
        Outcome.DEVICE_BLOCKED: "TikTok answered DEVICE_BLOCKED",
        Outcome.REJECTED: "TikTok refused the websocket upgrade",
        Outcome.UNREACHABLE: "the websocket host could not be reached",
        Outcome.ERROR: "the socket failed",
        Outcome.CLEAN_END: "the server closed the socket",
        Outcome.STALE: "no data arrived for the stall timeout",
        Outcome.STREAM_ENDED: "the stream ended",
    }[outcome]
    return f"{text} after {lived:.1f} s"
