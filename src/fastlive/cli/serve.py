"""``fastlive replay FILE --serve``: a recording served as a room of a local fake TikTok.

With ``demo``, the only module of the command that imports ``fastlive.testing``,
and only inside its functions: the rest of the CLI runs without it.
"""

from __future__ import annotations

import os
from typing import Any

from fastlive.cli.common import stop_event

__all__ = ["fake_env", "serve_recording"]


async def serve_recording(
    path: str | os.PathLike[str], *, interval: float = 0.0, duration: float | None = None
) -> int:
    """Serve a recording as a room of ``FakeTikTok``: any client can connect to it."""
    from fastlive.record.frames import FETCH, FRAME, META, read_records
    from fastlive.testing import FakeTikTok

    records = list(read_records(path, kinds={FRAME, META, FETCH}))
    metas = [r.meta() for r in records if r.kind == META]
    frames = [r.data for r in records if r.kind == FRAME]
    fetches = [r.data for r in records if r.kind == FETCH]
    initial = _fetch_messages(fetches[0]) if fetches else []
    meta = metas[0] if metas else {}
    handle = meta.get("unique_id") or "replay"
    room_id = int(meta.get("room_id") or 7_400_000_000_000_000_001)
    stop = stop_event(duration)
    async with FakeTikTok() as fake:
        fake.add_room(
            handle,
            room_id=room_id,
            frames=frames,
            initial=initial,
            replay=True,
            interval=interval,
        )
        print(f"# serving {len(frames)} frames of {path} as @{handle} (room {room_id})")
        # the recorded backlog (the sign server's first batch) only exists on signed connections
        print(fake_env(fake, "signed" if initial else None), flush=True)
        await stop.wait()
    return 0


def fake_env(fake: Any, connect: str | None = None) -> str:
    """A shell line that points fastlive at a fake TikTok (and pins the mode if given)."""
    mode = f" FASTLIVE_CONNECT={connect}" if connect else ""
    return (
        f"export FASTLIVE_WEB_URL={fake.web_url} FASTLIVE_WEBCAST_URL={fake.webcast_url} "
        f"SIGN_API_URL={fake.sign_api_url} FASTLIVE_WS_URL={fake.ws_url}{mode}"
        + ("" if getattr(fake, "waf", None) else " FASTLIVE_WEB_RATE=0")
    )


def _fetch_messages(body: bytes) -> list[tuple[str, bytes, int]]:
    """The messages of a recorded fetch result, as ``FakeTikTok`` rooms take them."""
    from fastlive.proto import webcast_pb2 as pb

    result = pb.ProtoMessageFetchResult()
    try:
        result.ParseFromString(body)
    except Exception:  # noqa: BLE001  (protobuf's DecodeError: serve without a backlog)
        return []
    return [(m.method, m.payload, m.msg_id) for m in result.messages]
