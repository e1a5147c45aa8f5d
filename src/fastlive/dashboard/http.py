"""A small HTTP/1.1 server on asyncio streams, with h11 doing the parsing.

Enough for the dashboard and nothing more: GET and HEAD, keep-alive, bodies of bytes
or streamed from an async iterator (server-sent events), bounded request heads,
bounded connections, and a client that goes away ending its stream at once.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field
from urllib.parse import parse_qs, unquote, urlsplit

import h11

__all__ = ["MAX_HEAD", "HTTPServer", "Request", "Response"]

MAX_HEAD = 16 * 1024
"""Bytes a request line and its headers may take."""
HEAD_TIMEOUT = 10.0
"""Seconds a client has to send a whole request head."""
IDLE_TIMEOUT = 75.0
"""Seconds a kept-alive connection may wait for its next request."""
MAX_CONNECTIONS = 512

logger = logging.getLogger("fastlive.dashboard")


@dataclass(slots=True)
class Request:
    """One request: its method, decoded path, query (last value of each name) and headers."""

    method: str
    path: str
    query: dict[str, str]
    headers: dict[str, str]

    @classmethod
    def from_h11(cls, event: h11.Request) -> Request:
        target = urlsplit(event.target.decode("latin-1"))
        query = {k: v[-1] for k, v in parse_qs(target.query, keep_blank_values=True).items()}
        headers: dict[str, str] = {}
        for name, value in event.headers:
            headers[name.decode("latin-1").lower()] = value.decode("latin-1")
        return cls(event.method.decode("ascii"), unquote(target.path), query, headers)


@dataclass(slots=True)
class Response:
    """A status, headers, and a body of bytes or an async iterator of byte chunks."""

    status: int = 200
    body: bytes | AsyncIterator[bytes] = b""
    content_type: str = "text/plain; charset=utf-8"
    headers: list[tuple[str, str]] = field(default_factory=list)


Handler = Callable[[Request], Awaitable[Response]]


class HTTPServer:
    """Serve ``handler(request) -> Response`` on ``host:port`` until ``aclose()``."""

    def __init__(self, handler: Handler, *, max_connections: int = MAX_CONNECTIONS) -> None:
        self._handler = handler
        self._server: asyncio.Server | None = None
        self._connections: set[asyncio.Task[None]] = set()
        self._max_connections = max_connections

    async def start(self, host: str, port: int) -> tuple[str, int]:
        """Bind and listen; returns the address bound (the port chosen when 0 was asked)."""
        self._server = await asyncio.start_server(self._accept, host, port)
        sockname = self._server.sockets[0].getsockname()
        return sockname[0], sockname[1]

    async def aclose(self) -> None:
        """Stop listening and end every connection (streams included)."""
        if self._server is not None:
            self._server.close()
        for task in list(self._connections):
            task.cancel()
        if self._connections:
            await asyncio.gather(*self._connections, return_exceptions=True)
        if self._server is not None:
            await self._server.wait_closed()
            self._server = None

    async def _accept(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        task = asyncio.current_task()
        assert task is not None
        if len(self._connections) >= self._max_connections:
            writer.close()
            return
        self._connections.add(task)
        try:
            await _Connection(reader, writer, self._handler).serve()
        except (ConnectionError, asyncio.IncompleteReadError, TimeoutError):
            pass
        except asyncio.CancelledError:
            pass
        finally:
            self._connections.discard(task)
            writer.close()
            with contextlib.suppress(Exception):
                await writer.wait_closed()


class _Connection:
    """One client's connection: requests in turn, each answered before the next is read."""

    def __init__(
        self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter, handler: Handler
    ) -> None:
        self.reader = reader
        self.writer = writer
        self.handler = handler
        self.conn = h11.Connection(h11.SERVER, max_incomplete_event_size=MAX_HEAD)
        self.close_after = False

    async def _next_event(self, timeout: float) -> h11.Event | type[h11.PAUSED]:
        while True:
            event = self.conn.next_event()
            if event is not h11.NEED_DATA:
                return event
            data = await asyncio.wait_for(self.reader.read(65536), timeout)
            self.conn.receive_data(data)

    def _send(self, event: h11.Event) -> None:
        data = self.conn.send(event)
        if data:
            self.writer.write(data)

    async def serve(self) -> None:
        first = True
        while True:
            try:
                event = await self._next_event(HEAD_TIMEOUT if first else IDLE_TIMEOUT)
            except h11.RemoteProtocolError as exc:
                await self._error(exc.error_status_hint)
                return
            first = False
            if not isinstance(event, h11.Request):
                return  # ConnectionClosed, or a client that stopped mid-way
            try:
                while not isinstance(await self._next_event(HEAD_TIMEOUT), h11.EndOfMessage):
                    pass  # a GET has no body worth reading; bounded by h11's limits
            except h11.RemoteProtocolError as exc:
                await self._error(exc.error_status_hint)
                return
            request = Request.from_h11(event)
            try:
                response = await self.handler(request)
            except Exception:
                logger.exception("dashboard handler failed on %s", request.path)
                response = Response(500, b"internal error\n")
            await self._respond(request, response)
            if self.close_after or self.conn.our_state is not h11.DONE:
                return
            if self.conn.their_state is not h11.DONE:
                return
            self.conn.start_next_cycle()

    async def _respond(self, request: Request, response: Response) -> None:
        headers = [("content-type", response.content_type), *response.headers]
        body = response.body
        if isinstance(body, bytes):
            headers.append(("content-length", str(len(body))))
        self._send(h11.Response(status_code=response.status, headers=headers))
        if request.method == "HEAD":
            if not isinstance(body, bytes):
                await body.aclose()  # type: ignore[attr-defined]
            self._send(h11.EndOfMessage())
            await self.writer.drain()
            return
        if isinstance(body, bytes):
            if body:
                self._send(h11.Data(data=body))
            self._send(h11.EndOfMessage())
            await self.writer.drain()
            return
        await self._stream(body)

    async def _stream(self, body: AsyncIterator[bytes]) -> None:
        """Write chunks as the iterator yields them until it ends or the client leaves."""
        gone = asyncio.ensure_future(self.reader.read(1))  # b"" (or an error) when it leaves

        async def pump() -> None:
            async for chunk in body:
                self._send(h11.Data(data=chunk))
                await self.writer.drain()

        pumping = asyncio.ensure_future(pump())
        try:
            done, _ = await asyncio.wait({gone, pumping}, return_when=asyncio.FIRST_COMPLETED)
            if pumping in done:
                pumping.result()
                self._send(h11.EndOfMessage())
                await self.writer.drain()
        finally:
            for task in (gone, pumping):
                task.cancel()
            await asyncio.gather(gone, pumping, return_exceptions=True)
            with contextlib.suppress(Exception):
                await body.aclose()  # type: ignore[attr-defined]
        self.close_after = True  # ``gone`` may have taken a byte of a next request

    async def _error(self, status: int) -> None:
        if self.conn.our_state in (h11.IDLE, h11.SEND_RESPONSE):
            with contextlib.suppress(h11.LocalProtocolError):
                self._send(
                    h11.Response(
                        status_code=status,
                        headers=[("content-length", "0"), ("connection", "close")],
                    )
                )
                self._send(h11.EndOfMessage())
                await self.writer.drain()
