"""Frames and video to disk and back: frame recording, replay, the video recorder, FLV."""

from fastlive.record.frames import Record, Recorder, read_records
from fastlive.record.replay import iter_batches, replay
from fastlive.record.video import RecordingStats, VideoRecorder, record_room_video, record_video

__all__ = [
    "Record",
    "Recorder",
    "RecordingStats",
    "VideoRecorder",
    "iter_batches",
    "read_records",
    "record_room_video",
    "record_video",
    "replay",
]
