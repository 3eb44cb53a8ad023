"""Browser journeys: a real `fync serve` on a free loopback port, driven by Playwright
through Debian's Chromium (never a downloaded browser). Skipped without either."""
from __future__ import annotations

import http.server
import os
import signal
import socket
import subprocess
import sys
import threading
import time
import urllib.request
from pathlib import Path

import pytest

CHROMIUM = "/usr/bin/chromium"
if not os.access(CHROMIUM, os.X_OK):
    pytest.skip(f"browser tests need Chromium at {CHROMIUM} (apt-get install chromium)",
                allow_module_level=True)
try:
    from playwright.sync_api import sync_playwright
except ImportError:
    pytest.skip("browser tests need playwright (pip install -e '.[test]')", allow_module_level=True)

CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync", "--disable-quic", "--no-first-run"]
PHONE = {"width": 390, "height": 844}  # the pages must work on a phone (SPEC §2)
AXE = Path(__file__).parent / "node_modules" / "axe-core" / "axe.min.js"  # `make test` installs it
SERIOUS = ("serious", "critical")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Server:
    """A `fync serve` subprocess with its own data dir; `url(path)` builds absolute URLs."""

    def __init__(self, root: Path, config: str = ""):
        self.port = free_port()
        self.base = f"http://127.0.0.1:{self.port}"
        self.log_path = root / "serve.log"
        env = {k: v for k, v in os.environ.items() if not k.startswith("FYNC_")}
        env.update(FYNC_SERVER_PUBLIC_URL=self.base, FYNC_CONFIG=str(root / "fync.toml"))
        (root / "fync.toml").write_text(config)  # never the checkout's own fync.toml
        fync = Path(sys.executable).parent / "fync"
        self.log = self.log_path.open("w")
        self.proc = subprocess.Popen(
            [str(fync), "serve", "--host", "127.0.0.1", "--port", str(self.port), "--data-dir", str(root / "data")],
            cwd=root, env=env, stdout=self.log, stderr=subprocess.STDOUT)

    def url(self, path: str) -> str:
        return self.base + path

    def wait_ready(self, timeout: float = 20) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"fync serve exited {self.proc.returncode}:\n{self.log_path.read_text()}")
            try:
                with urllib.request.urlopen(self.url("/login"), timeout=1):
                    return
            except OSError:
                time.sleep(0.1)
        raise RuntimeError(f"fync serve did not answer within {timeout} s:\n{self.log_path.read_text()}")

    def stop(self) -> None:
        self.proc.send_signal(signal.SIGTERM)
        try:
            self.proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
        self.log.close()


@pytest.fixture(scope="session")
def server(tmp_path_factory):
    srv = Server(tmp_path_factory.mktemp("fync"))
    try:
        srv.wait_ready()
        yield srv
    finally:
        srv.stop()
    assert srv.proc.returncode == 0, f"SIGTERM should exit 0:\n{srv.log_path.read_text()}"


class Callback(http.server.ThreadingHTTPServer):
    """An app's redirect URI on loopback (RFC 8252 §7.3): records what the browser brings back."""

    def __init__(self):
        self.hits: list[str] = []
        super().__init__(("127.0.0.1", 0), CallbackHandler)
        self.url = f"http://127.0.0.1:{self.server_address[1]}/cb"


class CallbackHandler(http.server.BaseHTTPRequestHandler):
    def do_GET(self) -> None:
        self.server.hits.append(self.path)
        body = b"<!doctype html><title>Demo app</title><h1>Demo app got the answer</h1>"
        self.send_response(200)
        self.send_header("Content-Type", "text/html; charset=utf-8")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args) -> None:
        pass


@pytest.fixture(scope="session")
def callback():
    srv = Callback()
    thread = threading.Thread(target=srv.serve_forever, daemon=True)
    thread.start()
    yield srv
    srv.shutdown()
    srv.server_close()


@pytest.fixture(scope="module")
def playwright():
    """Playwright itself, for tests that need more than `chromium` (a persistent profile)."""
    with sync_playwright() as pw:
        yield pw


@pytest.fixture(scope="module")
def chromium(playwright):
    """One browser for the journeys; each test opens its own contexts (cookie jars)."""
    browser = playwright.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS)
    yield browser
    browser.close()


@pytest.fixture
def new_page(chromium, server):
    """`new_page()` → a page in a fresh context: another person, with their own cookies."""
    contexts = []

    def make():
        context = chromium.new_context(viewport=PHONE, base_url=server.base)
        context.set_default_timeout(10_000)
        contexts.append(context)
        return context.new_page()
    yield make
    for context in contexts:
        context.close()


@pytest.fixture
def shot(tmp_path):
    """`shot(page, name)` saves a full-page screenshot in the test's tmp_path."""
    def take(page, name: str) -> Path:
        path = tmp_path / f"{name}.png"
        page.screenshot(path=str(path), full_page=True)
        return path
    return take


@pytest.fixture(scope="session")
def names():
    """Fresh usernames, so journeys sharing one server never collide."""
    counter = iter(range(1, 10_000))
    return lambda stem: f"{stem}{next(counter)}"


def axe_violations(page, impacts=SERIOUS) -> list[dict]:
    """axe-core's violations on the page as it is now, of the given impacts: each as
    {"id", "impact", "help", "nodes": [css targets]}, so a failing assert says what and where."""
    if not AXE.exists():
        pytest.fail(f"{AXE} is missing: run `make test` (it runs npm ci in tests/browser)")
    if not page.evaluate("() => typeof window.axe !== 'undefined'"):
        # Evaluated through the DevTools protocol, which the page's CSP does not govern
        # (a <script> tag would be refused: pages allow scripts from their own origin only).
        page.evaluate(AXE.read_text() + "\n;true")
    result = page.evaluate("async () => (await axe.run(document)).violations.map(v => "
                           "({id: v.id, impact: v.impact, help: v.help, nodes: v.nodes.map(n => n.target.join(' '))}))")
    return [v for v in result if v["impact"] in impacts]


def no_sideways_scroll(page) -> bool:
    """Whether the page fits the viewport's width (SPEC §2: a 360 px screen)."""
    return page.evaluate("() => document.documentElement.scrollWidth <= window.innerWidth")
