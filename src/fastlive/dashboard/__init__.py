"""The live dashboard of a Monitor: a web page, an OBS overlay, a JSON API, server-sent
events and Prometheus metrics, served from the Monitor's own event loop.

``server`` is the face (:class:`Dashboard`); ``hub`` keeps the per-room figures and
relays events to subscribers, ``http`` is the small HTTP/1.1 server (h11), ``metrics``
the Prometheus collector, ``static/`` the pages, scripts and styles.
"""

from fastlive.dashboard.hub import Hub
from fastlive.dashboard.metrics import MonitorCollector
from fastlive.dashboard.server import Dashboard, parse_address

__all__ = ["Dashboard", "Hub", "MonitorCollector", "parse_address"]
