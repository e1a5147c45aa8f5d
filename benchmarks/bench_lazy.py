"""Lazy fields: what the decode costs, and what reading a field the decoder skips costs.

Rows, per message kind (the factory's made-up chat, gift, like, member and a generic room message):

- ``decode``: ``decode_message`` alone (the hot path; lazy fields cost nothing here);
- ``eager read``: ``event.user.nickname`` on a decoded event (a slot);
- ``first lazy read``: decode, then one field the decoder skips (``event.common.msg_id``, or
  ``event.user.follow_info.follower_count``): the protobuf parse of the payload or the user's slice;
- ``cached lazy read``: the same attribute chain again on the same event (kept in ``__dict__``).

    python benchmarks/bench_lazy.py           # best of 5, about 10 s
    python benchmarks/bench_lazy.py --quick   # a smoke run
"""

from __future__ import annotations

import argparse
import timeit
from collections.abc import Callable

import fastlive
from fastlive import testing

KINDS: dict[str, tuple[str, Callable[[], bytes]]] = {
    "chat": ("WebcastChatMessage", testing.chat),
    "gift": ("WebcastGiftMessage", testing.gift),
    "like": ("WebcastLikeMessage", testing.like),
    "member": ("WebcastMemberMessage", testing.member),
    "room": ("WebcastRoomMessage", lambda: testing.generic("WebcastRoomMessage")),
}

READS: dict[str, Callable[[fastlive.BaseEvent], object]] = {
    "event.common.msg_id": lambda e: e.common.msg_id,
    "event.user.follow_info.follower_count": lambda e: e.user.follow_info.follower_count,
}


def best(fn: Callable[[], object], number: int, repeat: int) -> float:
    """Best time per call, in microseconds."""
    return min(timeit.repeat(fn, number=number, repeat=repeat)) / number * 1e6


def measure(method: str, payload: bytes, number: int, repeat: int) -> list[tuple[str, float]]:
    """The rows for one message: (what, microseconds per call)."""
    decode = fastlive.decode_message
    decode_us = best(lambda: decode(method, payload), number, repeat)
    rows = [("decode", decode_us)]
    event = decode(method, payload)
    has_user = getattr(event, "user", None) is not None
    if has_user:
        rows.append(
            (
                "eager read event.user.nickname",
                best(lambda: event.user.nickname, number * 10, repeat),
            )
        )
    for name, read in READS.items():
        if name.startswith("event.user") and not has_user:
            continue
        cached = decode(method, payload)
        read(cached)
        first = best(lambda r=read: r(decode(method, payload)), number, repeat) - decode_us
        rows.append((f"first lazy read {name} (less decode)", first))
        rows.append(
            (f"cached lazy read {name}", best(lambda r=read, c=cached: r(c), number * 10, repeat))
        )
    return rows


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="fewer calls, for a smoke run")
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args(argv)
    number = 200 if args.quick else 5_000
    repeat = 2 if args.quick else args.repeat
    print(f"{'message':<8} {'bytes':>6} {'row':<54} {'us/call':>8}")
    for kind, (method, build) in KINDS.items():
        payload = build()
        for row, us in measure(method, payload, number, repeat):
            print(f"{kind:<8} {len(payload):>6,} {row:<54} {us:>8.3f}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
