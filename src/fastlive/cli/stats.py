"""``stats_table(monitor)``: a Monitor's counters as a text table, one line per room.

    from fastlive.cli.stats import stats_table
    print(stats_table(monitor))

The Monitor only counts (``room.stats``, ``monitor.stats``); how the counts look
is decided here, in the command-line layer, which imports the Monitor and never
the other way round.
"""

from __future__ import annotations

import time
from typing import TYPE_CHECKING

from fastlive.stats import RoomState, RoomStats

if TYPE_CHECKING:
    from fastlive.monitor import Monitor

__all__ = ["stats_table"]

_HEAD = (
    f"{'room':<24} {'state':<11} {'mode':<6} {'events':>9} {'frames':>8} {'MiB':>8} "
    f"{'decode s':>8} {'reconn':>6} {'429':>4} {'blocked':>7} {'switch':>6} "
    f"{'dropped':>7}  last event"
)


def stats_table(monitor: Monitor, *, now: float | None = None) -> str:
    """A text table of ``monitor``'s counters: a header, one line per room, a total line.

    Columns: room, state, connection mode, events, frames, MiB received, decode
    seconds, reconnects, 429s, ``DEVICE_BLOCKED`` answers, mode switches, drops, and
    how long ago the last event came.

    Args:
        monitor: the :class:`~fastlive.monitor.Monitor` to read (running or not).
        now: Unix time the "last event" ages are measured from (``time.time()`` if None).
    """
    if now is None:
        now = time.time()
    rooms = monitor.rooms.values()
    lines = [_HEAD]
    for room in rooms:
        lines.append(_line(room.name, room.state.value, room.mode, room.stats, now))
    summary = f"{monitor.states()[RoomState.LIVE]}/{len(rooms)} live"
    lines.append(_line("total", summary, "", monitor.stats, now))
    return "\n".join(lines)


def _line(name: str, state: str, mode: str, s: RoomStats, now: float) -> str:
    age = "-" if s.last_event_time is None else f"{now - s.last_event_time:.0f} s ago"
    return (
        f"{name[:24]:<24} {state:<11} {mode:<6} {s.events_total:>9} {s.frames:>8} "
        f"{s.bytes / 2**20:>8.2f} {s.decode_ns / 1e9:>8.3f} {s.reconnects:>6} "
        f"{s.rate_limited:>4} {s.device_blocked:>7} {s.mode_switches:>6} "
        f"{s.dropped:>7}  {age}"
    )
