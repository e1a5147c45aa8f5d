"""The reconnect policy (protocol.md §2.8.8, improved): pure, so every rule is a table row."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from fastlive._config import Settings
from fastlive.exceptions import ConnectError
from fastlive.supervisor import Action, ConnectMode, Decision, Outcome, Supervisor

D, S = ConnectMode.DIRECT, ConnectMode.SIGNED
RE, GIVE, STOP = Action.RECONNECT, Action.GIVE_UP, Action.STOP
MINT, BLOCK, REJ = Outcome.MINT_FAILED, Outcome.DEVICE_BLOCKED, Outcome.REJECTED
UNREACH, ERR, CLEAN = Outcome.UNREACHABLE, Outcome.ERROR, Outcome.CLEAN_END
STALE, ENDED = Outcome.STALE, Outcome.STREAM_ENDED

# Each step: (outcome, lived s, now s) -> (action, mode, delay, rotate, attempt, switched).
# Jitter is off here; it has its own test.
CASES = {
    "direct backoff 2 4 8 16 30, then gives up": (
        "direct",
        False,
        [
            ((ERR, 1.0, 0), (RE, D, 2.0, True, 1, False)),
            ((ERR, 1.0, 0), (RE, D, 4.0, True, 2, False)),
            ((ERR, 1.0, 0), (RE, D, 8.0, True, 3, False)),
            ((ERR, 1.0, 0), (RE, D, 16.0, True, 4, False)),
            ((ERR, 1.0, 0), (RE, D, 30.0, True, 5, False)),
            ((ERR, 1.0, 0), (GIVE, D, 0.0, False, 6, False)),
        ],
    ),
    "device blocked waits 2 s and rotates": (
        "direct",
        False,
        [
            ((BLOCK, 0.2, 0), (RE, D, 2.0, True, 1, False)),
            ((BLOCK, 0.2, 0), (RE, D, 2.0, True, 2, False)),
            ((ERR, 0.5, 0), (RE, D, 8.0, True, 3, False)),
        ],
    ),
    "young clean end keeps the session, young error rotates": (
        "direct",
        False,
        [
            ((CLEAN, 5.0, 0), (RE, D, 2.0, False, 1, False)),
            ((STALE, 5.0, 0), (RE, D, 4.0, False, 2, False)),
            ((ERR, 5.0, 0), (RE, D, 8.0, True, 3, False)),
            ((UNREACH, 0.0, 0), (RE, D, 16.0, False, 4, False)),
            ((MINT, 0.0, 0), (RE, D, 30.0, True, 5, False)),
        ],
    ),
    "a healthy end starts over at n = 1 and keeps the session": (
        "direct",
        False,
        [
            ((ERR, 1.0, 0), (RE, D, 2.0, True, 1, False)),
            ((ERR, 1.0, 0), (RE, D, 4.0, True, 2, False)),
            ((ERR, 45.0, 0), (RE, D, 2.0, False, 1, False)),
            ((CLEAN, 600.0, 0), (RE, D, 2.0, False, 1, False)),
            ((STALE, 30.0, 0), (RE, D, 2.0, False, 1, False)),
        ],
    ),
    "a stream end stops for good": (
        "direct",
        False,
        [((ENDED, 900.0, 0), (STOP, D, 0.0, False, 0, False))],
    ),
    "auto without a sign server stays direct": (
        "auto",
        False,
        [
            ((BLOCK, 0.1, 0), (RE, D, 2.0, True, 1, False)),
            ((BLOCK, 0.1, 0), (RE, D, 2.0, True, 2, False)),
            ((MINT, 0.0, 0), (RE, D, 8.0, True, 3, False)),
            ((UNREACH, 0.0, 0), (RE, D, 16.0, False, 4, False)),
            ((BLOCK, 0.1, 0), (RE, D, 2.0, True, 5, False)),
            ((BLOCK, 0.1, 0), (GIVE, D, 0.0, False, 6, False)),
        ],
    ),
    "auto: DEVICE_BLOCKED twice in a row switches to signed": (
        "auto",
        True,
        [
            ((BLOCK, 0.1, 0), (RE, D, 2.0, True, 1, False)),
            ((BLOCK, 0.1, 1), (RE, S, 0.0, True, 0, True)),
            ((ERR, 3.0, 2), (RE, S, 2.0, False, 1, False)),  # signed never rotates
            ((CLEAN, 90.0, 100), (RE, S, 2.0, False, 1, False)),  # cool-down not over
        ],
    ),
    "auto: blocks not in a row do not switch": (
        "auto",
        True,
        [
            ((BLOCK, 0.1, 0), (RE, D, 2.0, True, 1, False)),
            ((ERR, 0.1, 0), (RE, D, 4.0, True, 2, False)),
            ((BLOCK, 0.1, 0), (RE, D, 2.0, True, 3, False)),
        ],
    ),
    "auto: no ttwid after its retries switches at once": (
        "auto",
        True,
        [((MINT, 6.0, 0), (RE, S, 0.0, True, 0, True))],
    ),
    "auto: the direct host unreachable switches at once": (
        "auto",
        True,
        [((UNREACH, 0.0, 0), (RE, S, 0.0, False, 0, True))],
    ),
    "auto: after the cool-down, direct is tried again; a bounce doubles it": (
        "auto",
        True,
        [
            ((MINT, 0.0, 0), (RE, S, 0.0, True, 0, True)),  # cool-down 300 s
            ((CLEAN, 200.0, 200), (RE, S, 2.0, False, 1, False)),
            ((CLEAN, 120.0, 320), (RE, D, 0.0, False, 0, True)),  # 320 >= 300: direct again
            ((UNREACH, 0.0, 321), (RE, S, 0.0, False, 0, True)),  # bounce: cool-down 600
            ((CLEAN, 400.0, 721), (RE, S, 2.0, False, 1, False)),  # 400 < 600
            ((CLEAN, 300.0, 1021), (RE, D, 0.0, False, 0, True)),
            ((CLEAN, 45.0, 1066), (RE, D, 2.0, False, 1, False)),  # direct healthy: reset
            ((UNREACH, 0.0, 1070), (RE, S, 0.0, False, 0, True)),  # cool-down back to 300
            ((CLEAN, 60.0, 1370), (RE, D, 0.0, False, 0, True)),
        ],
    ),
    "auto: a spent direct budget switches, a spent signed one too, then gives up": (
        "auto",
        True,
        [
            ((CLEAN, 1.0, 0), (RE, D, 2.0, False, 1, False)),
            ((CLEAN, 1.0, 0), (RE, D, 4.0, False, 2, False)),
            ((CLEAN, 1.0, 0), (RE, D, 8.0, False, 3, False)),
            ((CLEAN, 1.0, 0), (RE, D, 16.0, False, 4, False)),
            ((CLEAN, 1.0, 0), (RE, D, 30.0, False, 5, False)),
            ((CLEAN, 1.0, 0), (RE, S, 0.0, False, 0, True)),
            ((ERR, 1.0, 1), (RE, S, 2.0, False, 1, False)),
            ((ERR, 1.0, 2), (RE, S, 4.0, False, 2, False)),
            ((ERR, 1.0, 3), (GIVE, S, 0.0, False, 3, False)),  # signed_max_retries=2
        ],
    ),
    "auto: signed refused goes back to direct": (
        "auto",
        True,
        [
            ((MINT, 0.0, 0), (RE, S, 0.0, True, 0, True)),
            ((REJ, 0.5, 1), (RE, D, 0.0, False, 0, True)),
            ((MINT, 0.0, 2), (RE, D, 2.0, True, 1, False)),  # signed is spent: stay direct
        ],
    ),
    "signed: a refused upgrade gives up at once": (
        "signed",
        True,
        [
            ((ERR, 1.0, 0), (RE, S, 2.0, False, 1, False)),
            ((REJ, 0.1, 0), (GIVE, S, 0.0, False, 2, False)),
        ],
    ),
    "signed: backoff up to signed_max_retries, never switching": (
        "signed",
        True,
        [
            ((UNREACH, 0.0, 0), (RE, S, 2.0, False, 1, False)),
            ((STALE, 1.0, 900), (RE, S, 4.0, False, 2, False)),
            ((ERR, 1.0, 901), (GIVE, S, 0.0, False, 3, False)),
        ],
    ),
    "direct mode never switches": (
        "direct",
        True,
        [
            ((BLOCK, 0.1, 0), (RE, D, 2.0, True, 1, False)),
            ((BLOCK, 0.1, 0), (RE, D, 2.0, True, 2, False)),
            ((MINT, 0.0, 0), (RE, D, 8.0, True, 3, False)),
        ],
    ),
}


@pytest.mark.parametrize("name", list(CASES))
def test_policy_table(name):
    mode, signer, steps = CASES[name]
    sup = Supervisor(mode, signer_configured=signer, signed_max_retries=2, jitter=0)
    for index, ((outcome, lived, now), expected) in enumerate(steps):
        decision = sup.attempt_ended(outcome, lived, now)
        got = (
            decision.action,
            decision.mode,
            decision.delay,
            decision.rotate,
            decision.attempt,
            decision.switched,
        )
        assert got == expected, f"{name}: step {index} ({outcome.value})"
        assert decision.mode is sup.mode or decision.action is not RE
        assert decision.reason


def test_first_mode():
    assert Supervisor("auto").mode is D
    assert Supervisor("direct").mode is D
    assert Supervisor("signed").mode is S


def test_max_retries_zero_never_reconnects():
    sup = Supervisor("direct", max_retries=0, jitter=0)
    decision = sup.attempt_ended(CLEAN, 3600.0, 0)
    assert decision.action is GIVE
    assert "reconnecting is off" in decision.reason


def test_give_up_says_what_to_do():
    sup = Supervisor("auto", jitter=0)
    for _ in range(6):
        decision = sup.attempt_ended(BLOCK, 0.1, 0)
    assert decision.action is GIVE and decision.device_blocked
    assert "SIGN_API_KEY" in decision.reason and "DEVICE_BLOCKED" in decision.reason
    error = decision.error()
    assert isinstance(error, ConnectError) and str(error) == decision.reason


def test_counters():
    sup = Supervisor("auto", signer_configured=True, jitter=0)
    sup.minted()
    sup.attempt_ended(BLOCK, 0.1, 0)
    sup.attempt_ended(BLOCK, 0.1, 1)  # switch to signed
    sup.attempt_ended(CLEAN, 100.0, 400)  # cool-down over: back to direct
    sup.minted()
    sup.attempt_ended(MINT, 0.0, 401)  # switch again
    stats = sup.stats
    assert (stats.attempts, stats.switches, stats.device_blocked) == (4, 3, 2)
    assert (stats.mints, stats.misses, stats.rotations) == (2, 1, 3)


def test_jitter_bounds():
    low = Supervisor("direct", jitter=0.2, rand=lambda: 0.0)
    high = Supervisor("direct", jitter=0.2, rand=lambda: 1.0)
    assert low.attempt_ended(ERR, 0.0, 0).delay == pytest.approx(1.6)
    assert high.attempt_ended(ERR, 0.0, 0).delay == pytest.approx(2.4)
    assert low.attempt_ended(BLOCK, 0.0, 0).delay == pytest.approx(1.6)
    default = Supervisor("direct")
    for _ in range(5):
        delay = default.attempt_ended(CLEAN, 0.0, 0).delay
        assert delay > 0
    with pytest.raises(ValueError):
        Supervisor(jitter=1.5)


def test_settings_knobs():
    sup = Supervisor(
        "direct", healthy_session=10.0, device_blocked_delay=5.0, backoff_max=6.0, jitter=0
    )
    assert sup.attempt_ended(BLOCK, 0.0, 0).delay == 5.0
    assert sup.attempt_ended(ERR, 12.0, 0).attempt == 1  # healthy at 10 s
    assert [sup.attempt_ended(ERR, 0.0, 0).delay for _ in range(3)] == [4.0, 6.0, 6.0]


def test_decision_is_a_frozen_value():
    decision = Supervisor("direct", jitter=0).attempt_ended(ERR, 0.0, 0)
    assert isinstance(decision, Decision)
    with pytest.raises(AttributeError):
        decision.delay = 0.0  # type: ignore[misc]


def test_outcome_by_name():
    sup = Supervisor("direct", jitter=0)
    assert sup.attempt_ended("device_blocked", 0.0, 0).device_blocked
    with pytest.raises(ValueError):
        sup.attempt_ended("nope", 0.0, 0)


# -- ConnectMode and the settings it comes from ---------------------------------------------


@pytest.mark.parametrize(
    ("text", "mode"),
    [
        ("direct", D),
        ("Direct", D),
        (" SIGNED ", S),
        ("auto", ConnectMode.AUTO),
        ("", ConnectMode.AUTO),
        (None, ConnectMode.AUTO),
        (ConnectMode.SIGNED, S),
    ],
)
def test_connect_mode_parse(text, mode):
    assert ConnectMode.parse(text) is mode


def test_connect_mode_rejects_unknown():
    with pytest.raises(ValueError, match="auto, direct or signed"):
        ConnectMode.parse("websocket")


def test_connect_mode_from_the_settings():
    """The environment is read by ``Settings.from_env`` alone; the mode parses its value."""
    assert ConnectMode.parse(Settings.from_env({"FASTLIVE_CONNECT": " Signed "}).connect) is S
    assert ConnectMode.parse(Settings.from_env({}).connect) is ConnectMode.AUTO
    assert str(ConnectMode.DIRECT) == "direct"


def test_signer_configured_comes_from_the_settings():
    assert not Settings.from_env({}).signer_configured
    assert Settings.from_env({"SIGN_API_KEY": "k"}).signer_configured
    assert Settings.from_env({"SIGN_API_URL": "https://sign.example/"}).signer_configured
    default_url = Settings().sign_api_url
    chosen = Settings.from_env({"SIGN_API_URL": default_url})
    assert chosen.signer_configured and chosen.sign_api_url_chosen
    assert Settings.from_env({}, sign_api_url=default_url).signer_configured


def test_backoff_never_exceeds_its_cap():
    sup = Supervisor("direct", max_retries=20, backoff_max=30.0, jitter=0.2, rand=lambda: 1.0)
    delays = [sup.attempt_ended(ERR, 0.0, 0).delay for _ in range(8)]
    assert delays[:4] == pytest.approx([2.4, 4.8, 9.6, 19.2]) and max(delays) == 30.0


def test_settings_connect_and_ws_url():
    assert Settings().connect == "auto" and Settings().ws_url == "wss://webcast-ws.tiktok.com"
    env = {"FASTLIVE_CONNECT": "Direct", "FASTLIVE_WS_URL": "eu"}
    settings = Settings.from_env(env)
    assert settings.connect == "direct"
    assert settings.ws_url == "wss://webcast-ws.eu.tiktok.com"
    assert Settings.from_env(env, ws_url="ws://127.0.0.1:9/").ws_url == "ws://127.0.0.1:9"
    assert Settings.from_env({}, connect=ConnectMode.SIGNED).connect == "signed"
    assert ConnectMode.parse(settings.connect) is D
    with pytest.raises(ValueError, match="FASTLIVE_CONNECT"):
        Settings.from_env({"FASTLIVE_CONNECT": "sometimes"})
    defaults = Settings()
    assert (defaults.ttwid_attempts, defaults.ttwid_retry_delay) == (8, 0.75)
    assert (defaults.healthy_session, defaults.device_blocked_delay) == (30.0, 2.0)
    assert defaults.direct_max_retries == 5 and defaults.ttwid_share_cap >= 1


def test_supervisor_is_pure():
    text = (Path(__file__).resolve().parents[1] / "src/fastlive/supervisor.py").read_text()
    pattern = r"^\s*(import|from)\s+(asyncio|socket|logging|time|websockets|httpx|threading)\b"
    assert not re.findall(pattern, text, re.MULTILINE)


def test_lookup_refused_starts_auto_signed_only_with_a_signer():
    sup = Supervisor("auto", signer_configured=True)
    assert sup.lookup_refused(now=100.0) and sup.mode is S
    assert sup.stats.switches == 1 and not sup.direct_due(100.0 + sup.cooldown - 1)
    assert sup.direct_due(100.0 + sup.cooldown)
    assert not sup.lookup_refused(now=101.0)  # already signed
    assert not Supervisor("auto").lookup_refused(now=0.0)  # no signer: stay direct
    assert not Supervisor("direct", signer_configured=True).lookup_refused(now=0.0)
