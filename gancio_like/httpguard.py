"""The HTTP server's defences against hostile clients (SECURITY-CHECKLIST (b)).

Tornado alone answers a body over `max_body_size` with a bare 400, drops a request
head over `max_header_size` without a word, and keeps no count of requests still
being received. `GuardedHTTPServer` wraps each request's delegate, and each
connection's stream, so that:

- a `Content-Length` over the limit (`body_limit`, or a path's own in `larger_bodies`
  for a POST) gets 413, a header block over `HEADER_LIMIT`
  gets 431 and a request line over `URI_LIMIT` gets 414, in the SPEC's JSON error
  shape, before any of the body is read (RFC 9110 §15.5.14, §15.5.15; RFC 6585 §5);
- a head too large for Tornado to parse (over `MAX_HEADER_SIZE`) gets the same
  431 or 414, and a chunked body gets 413 as soon as it passes the limit;
- every refusal says `Connection: close`, then the connection closes after a
  short lingering drain, so the client reads the answer instead of a reset
  (RFC 9112 §9.6);
- `busy()` counts requests from their headers until their handler finishes, so a
  graceful shutdown also waits for a body still being uploaded.

Slow clients are bounded by Tornado itself: the whole header block must arrive
within the idle timeout, a body within `body_timeout`. None of this costs a request
within the limits more than a counter and a flag.
"""
from __future__ import annotations

import asyncio
import json
import socket
import sys

import tornado.httpserver
from tornado import gen, httputil, iostream

HEADER_LIMIT = 32 * 1024  # a larger header block: 431
URI_LIMIT = 16 * 1024  # a longer request target: 414
MAX_HEADER_SIZE = 64 * 1024  # Tornado reads no further; a larger head is answered unparsed
LINGER_SECONDS = 2.0  # after a refusal, how long what the client still sends is drained
LINGER_BYTES = 16 * 1024 * 1024
REASONS = {413: "Content Too Large", 414: "URI Too Long", 431: "Request Header Fields Too Large"}
_answering: set[asyncio.Task] = set()  # refusals being sent (the loop keeps only weak references)


def error_response(status: int, description: str) -> bytes:
    """A whole response in the SPEC's `{"error", "error_description"}` shape that ends the connection."""
    body = json.dumps({"error": "invalid_request", "error_description": description}).encode()
    head = [f"HTTP/1.1 {status} {REASONS[status]}", "Content-Type: application/json; charset=utf-8",
            f"Content-Length: {len(body)}", "Connection: close", "Access-Control-Allow-Origin: *",
            "X-Content-Type-Options: nosniff"]
    return ("\r\n".join(head) + "\r\n\r\n").encode("latin-1") + body


def too_long_uri() -> tuple[int, str]:
    return 414, f"the request target is longer than {URI_LIMIT} bytes"


def too_large_headers() -> tuple[int, str]:
    return 431, f"the request headers are larger than {HEADER_LIMIT} bytes"


def too_large_body(limit: int) -> tuple[int, str]:
    return 413, f"the request body is larger than {limit} bytes"


class GuardedHTTPServer(tornado.httpserver.HTTPServer):
    """Tornado's HTTPServer with the guards above; `body_limit` is in bytes."""

    def initialize(self, *args, body_limit: int, larger_bodies: dict[str, int] | None = None,
                   **kwargs) -> None:
        # The guard is the one body limit: Tornado's own would answer a bare 400,
        # even to a chunk that merely announces more than the limit.
        super().initialize(*args, max_body_size=sys.maxsize, **kwargs)
        self.body_limit = body_limit
        # POSTs to these paths may be larger (an avatar upload to /settings), and no others.
        self.larger_bodies = {path: max(limit, body_limit) for path, limit in (larger_bodies or {}).items()}
        self.receiving = 0  # requests whose headers are in but no handler runs yet

    def limit_for(self, start_line) -> int:
        """The body limit of one request: its path's own for a POST, else `body_limit`."""
        if start_line.method != "POST" or not self.larger_bodies:
            return self.body_limit
        return self.larger_bodies.get(start_line.path.partition("?")[0], self.body_limit)

    def handle_stream(self, stream: iostream.IOStream, address) -> None:
        # TCPServer builds a plain IOStream (Fync serves no TLS itself): make it one that
        # can answer before it closes. Same layout, one overridden method.
        if type(stream) is iostream.IOStream:
            stream.__class__ = _GuardedStream
        super().handle_stream(stream, address)

    def start_request(self, server_conn, request_conn) -> httputil.HTTPMessageDelegate:
        request_conn.stream.reading_head = True
        return _RequestGuard(self, request_conn, super().start_request(server_conn, request_conn))

    def busy(self) -> int:
        """Requests being received or handled."""
        return self.receiving + getattr(self.request_callback, "in_flight", 0)


class _GuardedStream(iostream.IOStream):
    """A client connection that, when closed with an answer due, sends it first.

    The answer is the guard's refusal (`farewell`), or a 431/414 when Tornado gave
    up on a request head over MAX_HEADER_SIZE: it closes the stream at once, and
    this is the last point where the socket is still open."""

    reading_head = False  # from a request's start until its headers are parsed
    farewell = b""

    def close_fd(self) -> None:
        if self.reading_head and isinstance(self.error, iostream.UnsatisfiableReadError):
            # Tornado keeps what it read of the head in its buffer (up to MAX_HEADER_SIZE).
            self.farewell = error_response(*head_refusal(self._read_buffer))
        if not self.farewell:
            return super().close_fd()
        sock, self.socket = self.socket, None
        task = asyncio.ensure_future(_answer_and_close(iostream.IOStream(sock), self.farewell))
        _answering.add(task)
        task.add_done_callback(_answering.discard)
        return None


def head_refusal(head: bytes | bytearray) -> tuple[int, str]:
    """Why an unparsed head is refused: 414 when its request line alone is over URI_LIMIT."""
    return too_long_uri() if head.find(b"\n", 0, URI_LIMIT + 1) == -1 else too_large_headers()


def hang_up(stream: iostream.IOStream, status: int, description: str) -> None:
    """Answer the refusal, then close (the body, if any, is never read into memory)."""
    stream.farewell = error_response(status, description)
    stream.close()


class _RequestGuard(httputil.HTTPMessageDelegate):
    def __init__(self, server: GuardedHTTPServer, conn, delegate: httputil.HTTPMessageDelegate):
        self.server, self.conn, self.delegate = server, conn, delegate
        self.counted = False
        self.received = 0
        self.refused = False
        self.limit = server.body_limit

    def headers_received(self, start_line, headers):
        self.conn.stream.reading_head = False
        refusal = self._refusal(start_line, headers)
        if refusal is not None:
            hang_up(self.conn.detach(), *refusal)
            return None
        self.server.receiving += 1
        self.counted = True
        return self.delegate.headers_received(start_line, headers)

    def _refusal(self, start_line, headers) -> tuple[int, str] | None:
        if len(start_line.path) > URI_LIMIT:
            return too_long_uri()
        size = sum(len(name) + len(value) + 4 for name, value in headers.get_all())
        if size > HEADER_LIMIT:
            return too_large_headers()
        self.limit = self.server.limit_for(start_line)
        length = headers.get("Content-Length", "").split(",")[0].strip()
        if length.isascii() and length.isdigit() and int(length) > self.limit:
            return too_large_body(self.limit)
        return None

    def data_received(self, chunk: bytes):
        if self.refused:
            return None  # Tornado may still hand over what it had buffered
        self.received += len(chunk)
        if self.received > self.limit:  # a chunked body (a Content-Length was checked)
            self.refused = True
            hang_up(self.conn.stream, *too_large_body(self.limit))
            return None
        return self.delegate.data_received(chunk)

    def finish(self) -> None:
        try:
            if not self.refused:
                self.delegate.finish()  # creates the handler, which counts itself in flight
        finally:
            self._uncount()

    def on_connection_close(self) -> None:
        self._uncount()
        self.delegate.on_connection_close()

    def _uncount(self) -> None:
        if self.counted:
            self.counted = False
            self.server.receiving -= 1


async def _answer_and_close(stream: iostream.IOStream, response: bytes) -> None:
    try:
        await stream.write(response)
        stream.socket.shutdown(socket.SHUT_WR)
        # Read what the client is still sending: closing with unread data would send
        # a reset that can destroy the answer before the client reads it.
        # On Tornado's clock (the wall clock), not asyncio's, or the deadline has already passed.
        deadline, drained = stream.io_loop.time() + LINGER_SECONDS, 0
        while drained < LINGER_BYTES:
            chunk = stream.read_bytes(65536, partial=True)
            drained += len(await gen.with_timeout(deadline, chunk, quiet_exceptions=iostream.StreamClosedError))
    except (iostream.StreamClosedError, gen.TimeoutError, OSError):
        pass
    finally:
        stream.close()
