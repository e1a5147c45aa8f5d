"""Callbacks by event class, looked up along the event's MRO: the table behind
``TikTokLiveClient.on`` and ``Monitor.on`` / ``MonitoredRoom.on``."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, Generic, TypeVar

F = TypeVar("F", bound=Callable[..., Any])


class Listeners(Generic[F]):
    """Callbacks registered per event class; ``route(cls)`` gives those of ``cls`` and its bases.

    Routes are cached by class and the cache is dropped on every change.
    """

    def __init__(self) -> None:
        self._table: dict[type, list[F]] = {}
        self._routes: dict[type, tuple[F, ...]] = {}

    def add(self, event_type: type, f: F) -> F:
        """Register ``f`` for ``event_type`` (and its subclasses); returns ``f``.

        Raises:
            TypeError: ``event_type`` is not a class or ``f`` is not callable.
        """
        if not isinstance(event_type, type):
            raise TypeError(f"listen to an event class, not {event_type!r}")
        if not callable(f):
            raise TypeError(f"{f!r} is not callable")
        self._table.setdefault(event_type, []).append(f)
        self._routes.clear()
        return f

    def remove(self, event_type: type, f: F) -> None:
        """Remove one registration of ``f`` for ``event_type``.

        Raises:
            ValueError: ``f`` is not registered for exactly ``event_type``.
        """
        registered = self._table.get(event_type)
        if not registered or f not in registered:
            raise ValueError(f"{f!r} is not listening to {event_type.__name__}")
        registered.remove(f)
        if not registered:
            del self._table[event_type]
        self._routes.clear()

    def clear(self, event_type: type | None = None) -> None:
        """Remove every callback of ``event_type``, or of all event classes."""
        if event_type is None:
            self._table.clear()
        else:
            self._table.pop(event_type, None)
        self._routes.clear()

    def has(self, event_type: type) -> bool:
        """True when a callback is registered for exactly ``event_type``."""
        return bool(self._table.get(event_type))

    def get(self, event_type: type) -> list[F]:
        """The callbacks registered for exactly ``event_type`` (a copy)."""
        return list(self._table.get(event_type, ()))

    def route(self, cls: type) -> tuple[F, ...]:
        """The callbacks for an event of class ``cls``: its own, then its bases' in MRO order."""
        route = self._routes.get(cls)
        if route is None:
            table = self._table
            route = tuple(f for base in cls.__mro__ for f in table.get(base, ()))
            self._routes[cls] = route
        return route
