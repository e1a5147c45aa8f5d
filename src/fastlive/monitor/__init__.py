"""Many rooms in one event loop: the rooms, the merged stream, the poller, the limits."""

from fastlive.monitor.limits import SignLimiter
from fastlive.monitor.monitor import Monitor, MonitoredRoom, shard_of

__all__ = ["Monitor", "MonitoredRoom", "SignLimiter", "shard_of"]
