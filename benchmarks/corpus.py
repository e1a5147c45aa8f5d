"""A deterministic corpus of gzip ``WebcastPushFrame`` messages for the decode benchmark.

Frames hold 1 to 30 messages each (uniform): about half chat, a fifth likes, then joins, gifts,
follows/shares and viewer counts (``MIX``). Messages come from ``fastlive.testing.random_traffic``
with the corpus's own made-up users, as heavy on the wire as the 2023 captures
(``../shared/captures/README.md``; ``CAPTURE_P50``). The same seed gives the same bytes.
"""

from __future__ import annotations

import random
import statistics
from collections import Counter
from dataclasses import dataclass, field
from importlib import metadata

from fastlive.proto import webcast_pb2 as pb
from fastlive.testing import (
    CHAT_LINES,
    DEFAULT_USER_ID,
    MIX,
    fetch_result,
    make_user,
    push_frame,
    random_traffic,
)

__all__ = ["CAPTURE_P50", "MIX", "Corpus", "build_corpus"]

CAPTURE_P50 = {
    "WebcastChatMessage": 2_374,
    "WebcastLikeMessage": 2_319,
    "WebcastMemberMessage": 2_923,
    "WebcastGiftMessage": 5_542,
    "WebcastSocialMessage": 3_872,
    "WebcastRoomUserSeqMessage": 3_299,
}
"""Median payload size in bytes per method in the real captures (captures README)."""

_LOG_ID_BASE = 7_460_000_000_000_000_000
_WORDS = ("sunny", "otter", "brave", "pixel", "maple", "comet", "lucky", "river", "neon", "tiger")
_LINES = ("hi from the bench room", *CHAT_LINES[1:])  # its own first line: same bytes as ever


@dataclass(frozen=True)
class Corpus:
    """Websocket binary messages and, per frame, what they hold (for checks and reports)."""

    seed: int
    frames: list[bytes]
    methods: list[tuple[str, ...]]
    msg_ids: list[tuple[int, ...]]
    payload_sizes: dict[str, list[int]] = field(repr=False)
    inflated_sizes: list[int] = field(repr=False)

    @property
    def n_frames(self) -> int:
        """Number of frames."""
        return len(self.frames)

    @property
    def n_messages(self) -> int:
        """Number of messages in all frames."""
        return sum(len(m) for m in self.methods)

    @property
    def counts(self) -> list[int]:
        """Messages per frame."""
        return [len(m) for m in self.methods]

    def head(self, n_frames: int) -> Corpus:
        """The first ``n_frames`` frames as a corpus of their own."""
        kept = Counter(m for frame in self.methods[:n_frames] for m in frame)
        return Corpus(
            self.seed,
            self.frames[:n_frames],
            self.methods[:n_frames],
            self.msg_ids[:n_frames],
            {method: self.payload_sizes[method][:n] for method, n in kept.items()},
            self.inflated_sizes[:n_frames],
        )

    def summary(self) -> dict[str, object]:
        """Sizes and the message mix, for the report."""
        mix = Counter(method for frame in self.methods for method in frame)
        wire = sum(len(f) for f in self.frames)
        inflated = sum(self.inflated_sizes)
        return {
            "seed": self.seed,
            "frames": self.n_frames,
            "messages": self.n_messages,
            "messages_per_frame": round(self.n_messages / max(1, self.n_frames), 2),
            "wire_bytes": wire,
            "inflated_bytes": inflated,
            "mix": {
                method: {
                    "share": round(n / max(1, self.n_messages), 3),
                    "p50_bytes": int(statistics.median(self.payload_sizes[method])),
                    "capture_p50_bytes": CAPTURE_P50.get(method),
                }
                for method, n in mix.most_common()
            },
        }


def _users(rng: random.Random, n: int = 40) -> list[tuple[pb.User, pb.User]]:
    """``n`` made-up viewers, each as (full user, member-message user without the level badge).

    No fans-club data: none of the 711 chat/like/member/gift/social payloads in the captures
    carries it (and TikTokLive 7.0.1 fails on every message whose user has a fans-club status).
    """
    out = []
    for i in range(n):
        user_id = DEFAULT_USER_ID + rng.randrange(1, 10**15)
        name = f"{rng.choice(_WORDS).title()} {rng.choice(_WORDS).title()} {i}"
        handle = name.lower().replace(" ", ".")
        level = rng.choice((0, 3, 8, 14, 22, 31))
        follow = rng.choice((0, 0, 0, 1, 2))
        kw = {"gifter_level": level, "follow_status": follow, "fan_club_name": ""}
        out.append(
            (
                make_user(user_id, name, handle, **kw),
                make_user(user_id, name, handle, level_badge=False, **kw),
            )
        )
    return out


def build_corpus(n_frames: int = 1_000, seed: int = 2_023) -> Corpus:
    """``n_frames`` gzip push frames (each a ``msg`` batch that asks for an ack), seeded."""
    frames: list[bytes] = []
    methods: list[tuple[str, ...]] = []
    msg_ids: list[tuple[int, ...]] = []
    sizes: dict[str, list[int]] = {}
    inflated: list[int] = []
    traffic = random_traffic(seed, n_frames, make_users=_users, chat_lines=_LINES)
    for i, batch in enumerate(traffic):
        # Re-serialised deterministically: upb writes map entries (route_params) in an order
        # that changes from one process to the next, and the same seed must give the same bytes.
        body = pb.ProtoMessageFetchResult.FromString(fetch_result(batch)).SerializeToString(
            deterministic=True
        )
        frame = push_frame(body, log_id=_LOG_ID_BASE + seed * 10**6 + i, seq_id=i + 1)
        frames.append(frame)
        methods.append(tuple(method for method, _, _ in batch))
        msg_ids.append(tuple(msg_id for _, _, msg_id in batch))
        for method, payload, _ in batch:
            sizes.setdefault(method, []).append(len(payload))
        inflated.append(len(body))
    return Corpus(seed, frames, methods, msg_ids, sizes, inflated)


def dist_version(dist: str) -> str:
    """An installed distribution's version, or "not installed" (for the benchmarks' headers)."""
    try:
        return metadata.version(dist)
    except metadata.PackageNotFoundError:
        return "not installed"
