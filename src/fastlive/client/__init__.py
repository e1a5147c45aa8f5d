"""One room: the public client, its connection, its runner and its dispatch."""

from fastlive.client.client import (
    EventStream,
    FrameListener,
    SignPacer,
    StateListener,
    TikTokLiveClient,
)

__all__ = ["EventStream", "FrameListener", "SignPacer", "StateListener", "TikTokLiveClient"]
