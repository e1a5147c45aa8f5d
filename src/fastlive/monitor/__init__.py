"""Many rooms in one event loop: the rooms, the merged stream, the poller, the limits.

``monitor`` is the face (:class:`Monitor`); ``rooms`` holds :class:`MonitoredRoom`
and its callbacks, ``runner`` one room's life, ``stream`` the bounded hand-offs
(``events()`` and the async callback queues) and their overflow policy, ``poller``
the batched live check, ``limits`` the shared :class:`SignLimiter`.
"""

from fastlive.monitor.limits import SignLimiter
from fastlive.monitor.monitor import Monitor
from fastlive.monitor.rooms import MonitoredRoom, shard_of

__all__ = ["Monitor", "MonitoredRoom", "SignLimiter", "shard_of"]
