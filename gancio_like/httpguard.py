"""The HTTP server's defences against hostile clients (SECURITY-CHECKLIST (b)).

Tornado alone answers a body over `max_body_size` with a bare 400 and closes,
drops an over-long header block without a word, and keeps no count of requests
still being received. `GuardedHTTPServer` wraps each request's delegate so that:

- a `Content-Length` over the limit gets 413, a header block over `HEADER_LIMIT`
  gets 431 and a request line over `URI_LIMIT` gets 414, in the SPEC's JSON error
  shape, before any of the body is read (RFC 9110 §15.5.14, §15.5.15; RFC 6585 §5);
  the connection then closes after a short lingering drain, so the client reads
  the answer instead of a reset (RFC 9112 §9.6);
- a chunked body that grows past the limit is discarded as it arrives and
  answered 413 once it ends (up to `CHUNKED_DRAIN` times the limit; beyond that
  Tornado cuts the connection);
- `busy()` counts requests from their headers until their handler finishes, so a
  graceful shutdown also waits for a body still being uploaded.

Slow clients are bounded by Tornado itself: the whole header block must arrive
within the idle timeout, a body within `body_timeout`.
"""
from __future__ import annotations

import asyncio
import json
import socket

import tornado.httpserver
from tornado import gen, httputil, iostream

HEADER_LIMIT = 32 * 1024  # a larger header block: 431
URI_LIMIT = 16 * 1024  # a longer request target: 414
MAX_HEADER_SIZE = 64 * 1024  # a larger one is not even parsed: the connection closes
CHUNKED_DRAIN = 4  # a chunked body is read (and dropped) up to this many times the limit
LINGER_SECONDS = 2.0  # after refusing a body, how long its remainder is drained
LINGER_BYTES = 16 * 1024 * 1024
REASONS = {413: "Content Too Large", 414: "URI Too Long", 431: "Request Header Fields Too Large"}


def error_response(status: int, description: str, close: bool) -> tuple[httputil.ResponseStartLine,
                                                                          httputil.HTTPHeaders, bytes]:
    """A complete JSON error response in the SPEC's `{"error", "error_description"}` shape."""
    body = json.dumps({"error": "invalid_request", "error_description": description}).encode()
    headers = httputil.HTTPHeaders({
        "Content-Type": "application/json; charset=utf-8", "Content-Length": str(len(body)),
        "Access-Control-Allow-Origin": "*", "X-Content-Type-Options": "nosniff"})
    if close:
        headers["Connection"] = "close"
    return httputil.ResponseStartLine("HTTP/1.1", status, REASONS[status]), headers, body


class GuardedHTTPServer(tornado.httpserver.HTTPServer):
    """Tornado's HTTPServer with the guards above; `body_limit` is in bytes."""

    def initialize(self, *args, body_limit: int, **kwargs) -> None:
        # Tornado's own limit stays above ours so that chunked bodies reach the guard.
        super().initialize(*args, max_body_size=body_limit * CHUNKED_DRAIN, **kwargs)
        self.body_limit = body_limit
        self.receiving = 0  # requests whose headers are in but no handler runs yet
        self.refusing: set[asyncio.Task] = set()  # answers being sent (the loop keeps weak references)

    def start_request(self, server_conn, request_conn) -> httputil.HTTPMessageDelegate:
        return _RequestGuard(self, request_conn, super().start_request(server_conn, request_conn))

    def busy(self) -> int:
        """Requests being received or handled."""
        return self.receiving + getattr(self.request_callback, "in_flight", 0)


class _RequestGuard(httputil.HTTPMessageDelegate):
    def __init__(self, server: GuardedHTTPServer, conn, delegate: httputil.HTTPMessageDelegate):
        self.server, self.conn, self.delegate = server, conn, delegate
        self.counted = False
        self.received = 0
        self.overflow = False

    def headers_received(self, start_line, headers):
        refusal = self._refusal(start_line, headers)
        if refusal is not None:
            return self._refuse(*refusal)
        self.server.receiving += 1
        self.counted = True
        return self.delegate.headers_received(start_line, headers)

    def _refusal(self, start_line, headers) -> tuple[int, str] | None:
        if len(start_line.path) > URI_LIMIT:
            return 414, f"the request target is longer than {URI_LIMIT} bytes"
        size = sum(len(name) + len(value) + 4 for name, value in headers.get_all())
        if size > HEADER_LIMIT:
            return 431, f"the request headers are larger than {HEADER_LIMIT} bytes"
        length = headers.get("Content-Length", "").split(",")[0].strip()
        if length.isascii() and length.isdigit() and int(length) > self.server.body_limit:
            return 413, f"the request body is larger than {self.server.body_limit} bytes"
        return None

    def _refuse(self, status: int, description: str) -> None:
        """Answer at once and hang up: the body is never read into memory."""
        stream = self.conn.detach()
        task = asyncio.ensure_future(_answer_and_close(stream, *error_response(status, description, close=True)))
        self.server.refusing.add(task)
        task.add_done_callback(self.server.refusing.discard)

    def data_received(self, chunk: bytes):
        self.received += len(chunk)
        if self.received > self.server.body_limit:
            self.overflow = True  # a chunked body: dropped from here on, answered in finish()
        if not self.overflow:
            return self.delegate.data_received(chunk)
        return None

    def finish(self) -> None:
        try:
            if self.overflow:
                start, headers, body = error_response(
                    413, f"the request body is larger than {self.server.body_limit} bytes", close=False)
                self.conn.write_headers(start, headers, body)
                self.conn.finish()
            else:
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


async def _answer_and_close(stream: iostream.IOStream, start, headers, body: bytes) -> None:
    lines = [f"{start.version} {start.code} {start.reason}"] + [f"{k}: {v}" for k, v in headers.get_all()]
    try:
        await stream.write(("\r\n".join(lines) + "\r\n\r\n").encode("latin-1") + body)
        stream.socket.shutdown(socket.SHUT_WR)
        # Read what the client is still sending: closing with unread data would send
        # a reset that can destroy the answer before the client reads it.
        deadline, drained = asyncio.get_running_loop().time() + LINGER_SECONDS, 0
        while drained < LINGER_BYTES:
            chunk = stream.read_bytes(65536, partial=True)
            drained += len(await gen.with_timeout(deadline, chunk, quiet_exceptions=iostream.StreamClosedError))
    except (iostream.StreamClosedError, gen.TimeoutError, OSError):
        pass
    finally:
        stream.close()
