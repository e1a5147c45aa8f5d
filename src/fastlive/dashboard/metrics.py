"""``/metrics``: the Monitor's counters in Prometheus' text format, read at scrape time.

:class:`MonitorCollector` is a custom prometheus-client collector: nothing is counted
per event (the Monitor and its clients already count), the figures are read from
``room.stats`` and ``monitor.stats`` when Prometheus asks.  Series stay bounded: one
per room for the first ``room_limit`` rooms (the rest are summed under
``room="_other"``), one per event class for the events by type, none per user.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from prometheus_client import CONTENT_TYPE_LATEST, generate_latest
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric
from prometheus_client.registry import Collector, CollectorRegistry

from fastlive.stats import RoomState, RoomStats

__all__ = ["CONTENT_TYPE", "DEFAULT_ROOM_LIMIT", "MonitorCollector", "metrics_text"]

CONTENT_TYPE = CONTENT_TYPE_LATEST
DEFAULT_ROOM_LIMIT = 1_000
"""Rooms that get series of their own; the others are summed under ``room="_other"``."""
OTHER = "_other"

# (metric name, help, how to read it from a RoomStats)
_ROOM_COUNTERS: tuple[tuple[str, str, Any], ...] = (
    ("fastlive_room_events", "Events delivered, by room.", lambda s: s.events_total),
    ("fastlive_room_frames", "Push frames received, by room.", lambda s: s.frames),
    ("fastlive_room_received_bytes", "Bytes of frames received, by room.", lambda s: s.bytes),
    (
        "fastlive_room_decode_seconds",
        "Seconds spent decoding frames, by room.",
        lambda s: s.decode_ns / 1e9,
    ),
    ("fastlive_room_reconnects", "Reconnections, by room.", lambda s: s.reconnects),
    (
        "fastlive_room_rate_limited",
        "429 answers (sign server or TikTok), by room.",
        lambda s: s.rate_limited,
    ),
    (
        "fastlive_room_device_blocked",
        "DEVICE_BLOCKED refusals of the direct websocket, by room.",
        lambda s: s.device_blocked,
    ),
    ("fastlive_room_dropped", "Events dropped by a full queue, by room.", lambda s: s.dropped),
)


class MonitorCollector(Collector):
    """Prometheus figures of a Monitor (and of the dashboard's hub, when given one)."""

    def __init__(self, monitor: Any, hub: Any = None, room_limit: int = DEFAULT_ROOM_LIMIT):
        if room_limit < 0:
            raise ValueError("room_limit must be >= 0")
        self.monitor = monitor
        self.hub = hub
        self.room_limit = room_limit

    def collect(self) -> Iterator[Metric]:
        rooms = list(self.monitor.rooms.items())
        named: list[tuple[str, RoomStats, Any]] = [
            (key, room.stats, room) for key, room in rooms[: self.room_limit]
        ]
        rest = rooms[self.room_limit :]
        if rest:
            other = RoomStats()
            for _, room in rest:
                other.merge(room.stats)
            named.append((OTHER, other, None))

        for name, doc, read in _ROOM_COUNTERS:
            family = CounterMetricFamily(name, doc, labels=["room"])
            for key, stats, _ in named:
                family.add_metric([key], read(stats))
            yield family

        if self.hub is not None:
            viewers = GaugeMetricFamily(
                "fastlive_room_viewers", "Viewers in the last count, by room.", labels=["room"]
            )
            diamonds = CounterMetricFamily(
                "fastlive_room_diamonds", "Diamonds of finished gifts, by room.", labels=["room"]
            )
            other_viewers = other_diamonds = 0
            for key, _, room in named:
                if room is None:
                    continue
                figures = self.hub.figures(key)
                viewers.add_metric([key], figures.viewers)
                diamonds.add_metric([key], figures.diamonds)
            for key, _ in rest:
                figures = self.hub.figures(key)
                other_viewers += figures.viewers
                other_diamonds += figures.diamonds
            if rest:
                viewers.add_metric([OTHER], other_viewers)
                diamonds.add_metric([OTHER], other_diamonds)
            yield viewers
            yield diamonds

        total = self.monitor.stats  # every room, removed ones included
        by_type = CounterMetricFamily(
            "fastlive_events", "Events delivered, by event class.", labels=["type"]
        )
        for kind, count in sorted(total.events.items()):
            by_type.add_metric([kind], count)
        yield by_type

        states = GaugeMetricFamily("fastlive_rooms", "Rooms in each state.", labels=["state"])
        counts = dict.fromkeys((s.value for s in RoomState), 0)
        for _, room in rooms:
            counts[room.state.value] += 1
        for state, count in counts.items():
            states.add_metric([state], count)
        yield states

        if self.hub is not None:
            summary = self.hub.summary()
            yield GaugeMetricFamily(
                "fastlive_dashboard_sse_clients",
                "Clients reading /api/events.",
                value=summary["subscribers"],
            )
            yield CounterMetricFamily(
                "fastlive_dashboard_sse_dropped",
                "Records dropped because an /api/events client read too slowly.",
                value=summary["subscriber_dropped"],
            )


def metrics_text(collector: MonitorCollector) -> bytes:
    """The Prometheus text exposition of ``collector`` (its own registry, no process metrics)."""
    registry = CollectorRegistry(auto_describe=False)
    registry.register(collector)
    return generate_latest(registry)
