"""``FLVServer``: live FLV over HTTP/1.1 on loopback, as a CDN serves it (header and config
tags, then media from the live position), with per-connection faults: drops, stalls, statuses,
single-use URLs and the stream's end."""

from __future__ import annotations

import asyncio
import contextlib
import itertools
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qsl, urlsplit

import msgspec

from fastlive.testing.flv.generator import GeneratedFLV

if TYPE_CHECKING:
    from typing_extensions import Self

__all__ = ["FLVConnection", "FLVRequest", "FLVServer", "FLVStream"]


class FLVRequest(msgspec.Struct, kw_only=True):
    """One HTTP request the server received, and how it answered."""

    path: str
    query: dict[str, str]
    headers: dict[str, str]
    status: int


class FLVConnection(msgspec.Struct, kw_only=True):
    """One streaming response: which media tags went out whole, and how it ended.

    ``first`` and ``end`` bound the media indices sent in full (``range(first, end)``);
    ``how`` is ``"end"``, ``"drop"``, ``"stall"`` or ``"closed"`` (the client left).
    """

    first: int
    end: int
    bytes: int = 0
    how: str = ""


class FLVStream:
    """One stream served by :class:`FLVServer`; attributes may change while it runs.

    See :meth:`FLVServer.add_stream` for the options.
    """

    def __init__(self, name: str, source: GeneratedFLV, **options: Any) -> None:
        self.name = name
        self.source = source
        self.chunked: bool = options.pop("chunked", True)
        self.drop_after: dict[int, int] = dict(options.pop("drop_after", None) or {})
        self.stall_after: dict[int, int] = dict(options.pop("stall_after", None) or {})
        self.statuses: dict[int, int] = dict(options.pop("statuses", None) or {})
        self.single_use_urls: bool = options.pop("single_use_urls", False)
        self.overlap: int = options.pop("overlap", 0)
        self.skip_on_reconnect: int = options.pop("skip_on_reconnect", 0)
        self.rate: float | None = options.pop("rate", None)
        self.batch_bytes: int = options.pop("batch_bytes", 1 << 16)
        self.on_end: Callable[[], Any] | None = options.pop("on_end", None)
        if options:
            raise TypeError(f"add_stream() got unknown keywords: {', '.join(sorted(options))}")
        self.position = 0
        """The live position: the next media tag nobody has been sent whole."""
        self.requests = 0
        self.connections: list[FLVConnection] = []
        self.ended = False
        self._used_tokens: set[str] = set()
        self._ending = asyncio.Event()

    def end(self) -> None:
        """End the stream now: open responses finish cleanly, later requests get 404."""
        self.ended = True
        self._ending.set()

    def sent_indices(self) -> list[int]:
        """Every media index sent whole, over all connections, in order (with repeats)."""
        return [i for c in self.connections for i in range(c.first, c.end)]


class FLVServer:
    """Live FLV over HTTP on ``127.0.0.1``: ``GET /live/{name}/{quality}.flv?token=...``.

    Every quality of a stream serves the same :class:`GeneratedFLV`.
    """

    def __init__(self, *, host: str = "127.0.0.1") -> None:
        self.host = host
        self.streams: dict[str, FLVStream] = {}
        self.requests: list[FLVRequest] = []
        self._server: asyncio.Server | None = None
        self._port = 0
        self._tokens = itertools.count(1)
        self._tasks: set[asyncio.Task[None]] = set()

    async def start(self) -> None:
        """Listen on a free port."""
        self._server = await asyncio.start_server(self._handle, self.host, 0)
        self._port = self._server.sockets[0].getsockname()[1]

    async def aclose(self) -> None:
        """Stop listening and drop every open response."""
        if self._server is not None:
            self._server.close()
            for task in list(self._tasks):
                task.cancel()
            for task in list(self._tasks):
                with contextlib.suppress(BaseException):
                    await task
            await self._server.wait_closed()
            self._server = None

    async def __aenter__(self) -> Self:
        await self.start()
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.aclose()

    @property
    def base_url(self) -> str:
        return f"http://{self.host}:{self._port}"

    def add_stream(
        self, name: str, source: GeneratedFLV | None = None, **options: Any
    ) -> FLVStream:
        """Serve ``source`` (default: 300 media tags) as stream ``name``.

        Keyword Args:
            chunked: chunked transfer encoding (default) or a close-delimited body.
            drop_after: ``{connection number: bytes}``: abort that connection
                (no clean end) after that many body bytes; connections count from 1.
            stall_after: ``{connection number: bytes}``: after that many body bytes
                send nothing more, holding the connection open.
            statuses: ``{request number: HTTP status}``: answer that request so.
            single_use_urls: a URL's token works once; reusing it answers 403.
            overlap: a reconnection re-sends this many media tags already sent
                (a CDN's GOP cache).
            skip_on_reconnect: a reconnection starts this many media tags past the
                last one sent (live time lost while disconnected).
            rate: media tags per second (None: as fast as the socket takes).
            on_end: called once when the stream ends (its source runs out or ``end()``).
        """
        stream = FLVStream(name, source or GeneratedFLV(), **options)
        self.streams[name] = stream
        return stream

    def url(self, name: str, quality: str = "hd") -> str:
        """A fresh URL of stream ``name`` (a new token each call)."""
        return f"{self.base_url}/live/{name}/{quality}.flv?token={next(self._tokens)}&expire=0"

    def end(self, name: str) -> None:
        """End stream ``name`` now."""
        self.streams[name].end()

    # -- internals ------------------------------------------------------------------------

    async def _handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        task = asyncio.current_task()
        assert task is not None
        self._tasks.add(task)
        try:
            await self._serve(reader, writer)
        except (ConnectionError, asyncio.IncompleteReadError, asyncio.LimitOverrunError):
            pass
        finally:
            self._tasks.discard(task)
            writer.close()

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        head = await reader.readuntil(b"\r\n\r\n")
        lines = head.decode("latin-1").split("\r\n")
        _method, target, _version = lines[0].split(" ", 2)
        headers = {}
        for line in lines[1:]:
            if ":" in line:
                key, _, value = line.partition(":")
                headers[key.strip().lower()] = value.strip()
        parts = urlsplit(target)
        query = dict(parse_qsl(parts.query))
        segments = parts.path.strip("/").split("/")
        stream = None
        if len(segments) == 3 and segments[0] == "live" and segments[2].endswith(".flv"):
            stream = self.streams.get(segments[1])
        status = 200
        if stream is None:
            status = 404
        else:
            stream.requests += 1
            token = query.get("token", "")
            if stream.requests in stream.statuses:
                status = stream.statuses[stream.requests]
            elif stream.ended:
                status = 404
            elif stream.single_use_urls and token in stream._used_tokens:
                status = 403
            stream._used_tokens.add(token)
        self.requests.append(
            FLVRequest(path=parts.path, query=query, headers=headers, status=status)
        )
        if status != 200 or stream is None:
            body = f"{status}\n".encode()
            writer.write(
                f"HTTP/1.1 {status} X\r\nContent-Length: {len(body)}\r\n"
                "Connection: close\r\n\r\n".encode()
                + body
            )
            await writer.drain()
            return
        await self._stream(stream, reader, writer)

    async def _stream(
        self, stream: FLVStream, reader: asyncio.StreamReader, writer: asyncio.StreamWriter
    ) -> None:
        source = stream.source
        number = len(stream.connections) + 1
        first = stream.position
        if number > 1:
            first = max(0, first - stream.overlap) + stream.skip_on_reconnect
        record = FLVConnection(first=first, end=first)
        stream.connections.append(record)
        head = "HTTP/1.1 200 OK\r\nContent-Type: video/x-flv\r\nConnection: close\r\n"
        head += "Transfer-Encoding: chunked\r\n\r\n" if stream.chunked else "\r\n"
        writer.write(head.encode())
        drop = stream.drop_after.get(number)
        stall = stream.stall_after.get(number)
        limit = min(x for x in (drop, stall, float("inf")) if x is not None)
        client_gone = asyncio.ensure_future(reader.read())  # EOF: the client closed
        try:
            pending: list[bytes] = [source.header(), *source.config_tags()]
            pending_media = 0
            size = sum(map(len, pending))
            index = first
            media = source.media(first)
            while True:
                tag = None if stream.ended else next(media, None)
                if tag is not None:
                    pending.append(tag)
                    pending_media += 1
                    size += len(tag)
                    if stream.rate is None and size < stream.batch_bytes:
                        continue
                if pending:
                    data = b"".join(pending)
                    if record.bytes + len(data) >= limit:  # the fault happens in this batch
                        cut = int(limit - record.bytes)
                        self._write(writer, stream, data[:cut])
                        record.bytes += cut
                        record.end = index + _whole_tags(pending, cut, pending_media)
                        stream.position = max(stream.position, record.end)
                        await writer.drain()
                        if drop == limit:
                            record.how = "drop"
                            writer.transport.abort()
                            return
                        record.how = "stall"
                        await client_gone
                        return
                    self._write(writer, stream, data)
                    record.bytes += len(data)
                    index += pending_media
                    record.end = index
                    stream.position = max(stream.position, index)
                    pending, pending_media, size = [], 0, 0
                    await writer.drain()
                    if client_gone.done():
                        record.how = "closed"
                        return
                if tag is None:
                    break
                if stream.rate is not None:
                    ending = asyncio.ensure_future(stream._ending.wait())
                    await asyncio.wait({client_gone, ending}, timeout=1 / stream.rate)
                    ending.cancel()
                    if client_gone.done():
                        record.how = "closed"
                        return
            if stream.chunked:
                writer.write(b"0\r\n\r\n")
            await writer.drain()
            record.how = "end"
            if not stream.ended:
                stream.end()
            if stream.on_end is not None:
                stream.on_end()
        finally:
            client_gone.cancel()

    @staticmethod
    def _write(writer: asyncio.StreamWriter, stream: FLVStream, data: bytes) -> None:
        if stream.chunked and data:
            writer.write(b"%x\r\n" % len(data) + data + b"\r\n")
        else:
            writer.write(data)


def _whole_tags(pending: Sequence[bytes], cut: int, media_count: int) -> int:
    """How many of the trailing ``media_count`` items of ``pending`` fit whole in ``cut`` bytes."""
    first_media = len(pending) - media_count
    whole = 0
    total = 0
    for i, item in enumerate(pending):
        total += len(item)
        if total > cut:
            break
        if i >= first_media:
            whole += 1
    return whole
