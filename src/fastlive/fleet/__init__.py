"""A fleet of fastlive workers on NATS JetStream (``pip install 'fastlive[fleet]'``).

Workers share the wanted rooms by leases in key-value buckets (:mod:`~fastlive.fleet.buckets`),
watch them with a Monitor (:mod:`~fastlive.fleet.worker`) and publish every event once to the
durable stream ``FASTLIVE_EVENTS`` (:mod:`~fastlive.fleet.publisher`).
"""

from __future__ import annotations

from fastlive.fleet.buckets import (
    DEFAULT_LEASE_TTL,
    RoomEntry,
    add_rooms,
    connect,
    list_rooms,
    remove_rooms,
)
from fastlive.fleet.publisher import STREAM, NatsSink, PublishStats, subject_of
from fastlive.fleet.worker import DEFAULT_CAPACITY, Worker, WorkerStats

__all__ = [
    "DEFAULT_CAPACITY",
    "DEFAULT_LEASE_TTL",
    "STREAM",
    "NatsSink",
    "PublishStats",
    "RoomEntry",
    "Worker",
    "WorkerStats",
    "add_rooms",
    "connect",
    "list_rooms",
    "remove_rooms",
    "subject_of",
]
