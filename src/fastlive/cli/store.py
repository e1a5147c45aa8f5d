"""``fastlive replay FILE --db PATH_OR_URL``: a recording's events into a database.

The room is the recording's (its META record); each message is stored once, as
``watch --db`` stores it, so replaying a recording into the database that watched
it (or replaying it twice) adds nothing.
"""

from __future__ import annotations

import asyncio
import sys
from pathlib import Path

from fastlive.exceptions import DecodeError

__all__ = ["replay_into_db"]


async def replay_into_db(path: str | Path, target: str) -> int:
    """Store every event of the recording at ``path`` in ``target``; 1 if a frame did not
    decode or an event could not be stored."""
    from fastlive.record.frames import META, read_records
    from fastlive.record.replay import iter_batches
    from fastlive.sinks import open_sink

    room_key, room_id = Path(path).stem, 0
    for record in read_records(path, kinds={META}):
        meta = record.meta()
        room_id = int(meta.get("room_id") or 0)
        room_key = f"@{meta['unique_id']}" if meta.get("unique_id") else str(room_id)
        break
    sink = open_sink(target)
    errors: list[DecodeError] = []
    seen: set[int] = set()
    events = 0
    await sink.open()
    try:
        for _, batch in iter_batches(path, errors=errors):
            for event in batch.events:
                if event.msg_id in seen:  # the backlog and the first frames overlap
                    continue
                seen.add(event.msg_id)
                sink.put(room_key, event.room_id or room_id, event)
                events += 1
            await asyncio.sleep(0)  # the writer's turn
    finally:
        await sink.aclose()
    st = sink.stats
    print(
        f"{events} events from {room_key} into {sink.name}: {st.written} written "
        f"({st.spilled} spilled, {st.dropped} dropped)",
        file=sys.stderr,
    )
    for exc in errors[:5]:
        print(f"fastlive: a frame did not decode: {exc}", file=sys.stderr)
    return 1 if errors or st.dropped or sink.spill_pending else 0
