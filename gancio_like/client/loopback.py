"""The loopback redirect of native apps (RFC 8252 §7.3): a tiny Tornado server on
`127.0.0.1:<random port>` that waits for the browser to come back from the
instance with `?code=…&state=…&iss=…`, and tells the person to close the tab.

It listens on the IP literal 127.0.0.1, never `localhost` (RFC 8252 §8.3: a name
could resolve elsewhere, and a firewall may treat it differently), only for as long
as the login takes, and accepts only the answer carrying this login's `state`, so a
stray request (a prefetch, another local program) cannot end or hijack the wait.
"""
from __future__ import annotations

import asyncio
import hmac
import html

import tornado.web
from tornado.httpserver import HTTPServer
from tornado.netutil import bind_sockets

from .errors import LoginTimeout

CALLBACK_PATH = "/callback"
PAGE = """<!doctype html><html lang="en"><head><meta charset="utf-8"><title>Fync login</title>
<meta name="viewport" content="width=device-width"></head>
<body style="font-family:sans-serif;max-width:32em;margin:3em auto;padding:0 1em">
<h1>{title}</h1><p>{text}</p></body></html>"""


class _CallbackHandler(tornado.web.RequestHandler):
    def initialize(self, receiver: "LoopbackReceiver") -> None:
        self.receiver = receiver

    def set_default_headers(self) -> None:
        self.set_header("Cache-Control", "no-store")
        self.set_header("Referrer-Policy", "no-referrer")  # the URL holds the code
        self.set_header("Content-Security-Policy", "default-src 'none'; style-src 'unsafe-inline'")

    async def get(self) -> None:
        if not self.receiver.expects(self.get_query_argument("state", "")):
            self.set_status(400)
            return await self._page("Not this login", "This answer does not belong to the login in progress.")
        url = self.request.full_url()
        await self._page("Done", "You can close this tab and return to the terminal.")
        self.receiver.received(url)  # after the page is sent: the server closes right after

    def _page(self, title: str, text: str):
        self.set_header("Content-Type", "text/html; charset=utf-8")
        return self.finish(PAGE.format(title=html.escape(title), text=html.escape(text)))


class LoopbackReceiver:
    """`async with LoopbackReceiver() as r:` → `r.redirect_uri`, then `await r.wait(state, timeout)`."""

    def __init__(self, host: str = "127.0.0.1"):
        self.host, self.state = host, None
        self._answer: asyncio.Future[str] | None = None
        self._server: HTTPServer | None = None
        self.port = 0

    async def __aenter__(self) -> "LoopbackReceiver":
        app = tornado.web.Application([(CALLBACK_PATH, _CallbackHandler, {"receiver": self})],
                                      log_function=lambda handler: None)
        sockets = bind_sockets(0, self.host)
        self.port = sockets[0].getsockname()[1]
        self._server = HTTPServer(app)
        self._server.add_sockets(sockets)
        self._answer = asyncio.get_running_loop().create_future()
        return self

    async def __aexit__(self, *exc) -> None:
        self._server.stop()
        await self._server.close_all_connections()

    @property
    def redirect_uri(self) -> str:
        return f"http://{self.host}:{self.port}{CALLBACK_PATH}"

    async def wait(self, state: str, timeout: float) -> str:
        """The full callback URL the browser brought back; LoginTimeout after `timeout` s."""
        self.state = state
        try:
            return await asyncio.wait_for(asyncio.shield(self._answer), timeout)
        except asyncio.TimeoutError:
            raise LoginTimeout(f"no answer from the browser within {timeout:g} s; "
                               "run the login again (--timeout sets the wait)") from None

    def expects(self, state: str) -> bool:
        return bool(self.state) and hmac.compare_digest(state.encode(), self.state.encode())

    def received(self, url: str) -> None:
        if not self._answer.done():
            self._answer.set_result(url)
