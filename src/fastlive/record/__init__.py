"""Frames and video to disk and back: frame recording, replay, the video recorder, FLV.

Names load on first use, so ``fastlive.record.flv`` alone (the fake's FLV server uses it)
loads neither httpx nor the recorder.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

_EXPORTS = {
    "Record": "fastlive.record.frames",
    "Recorder": "fastlive.record.frames",
    "read_records": "fastlive.record.frames",
    "iter_batches": "fastlive.record.replay",
    "replay": "fastlive.record.replay",
    "RecordingStats": "fastlive.record.video",
    "VideoRecorder": "fastlive.record.video",
    "progress_line": "fastlive.record.room_video",
    "record_room_video": "fastlive.record.room_video",
    "record_video": "fastlive.record.room_video",
    "remux_to_mp4": "fastlive.record.remux",
}

__all__ = [
    "Record",
    "Recorder",
    "RecordingStats",
    "VideoRecorder",
    "iter_batches",
    "progress_line",
    "read_records",
    "record_room_video",
    "record_video",
    "remux_to_mp4",
    "replay",
]


def __getattr__(name: str) -> Any:
    """Import the module that defines ``name`` on first access."""
    try:
        module = _EXPORTS[name]
    except KeyError:
        raise AttributeError(f"module 'fastlive.record' has no attribute {name!r}") from None
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value
    return value


if TYPE_CHECKING:
    from fastlive.record.frames import Record, Recorder, read_records
    from fastlive.record.remux import remux_to_mp4
    from fastlive.record.replay import iter_batches, replay
    from fastlive.record.room_video import progress_line, record_room_video, record_video
    from fastlive.record.video import RecordingStats, VideoRecorder
