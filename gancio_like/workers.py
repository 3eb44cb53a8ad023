"""`fync serve --workers N`: one parent, N worker processes on the same listening socket.

The parent makes what the workers share (the plugins checked, the secret key, the
socket) before the first fork, while no event loop, thread or database connection
exists; each worker then opens its own and serves (`app.serve`). Only PostgreSQL
can be shared this way: its caches are kept coherent across processes (storage/pg.py).
"""
from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import select
import signal
import sys
import time

from . import webpush
from .app import SHUTDOWN_GRACE, print_startup, listen_sockets, load_secret, refuse_sqlite_workers, serve
from .config import Config, ConfigError
from .errors import FyncError
from .plugin_host import PluginHost
from .storage.errors import Unavailable
from .storage.migrate import MigrationError

log = logging.getLogger("fync.workers")


def serve_workers(cfg: Config) -> int:
    """`fync serve --workers N` → exit code. Everything the workers share is made here,
    once, before the first fork: no event loop, thread or database connection exists yet."""
    refuse_sqlite_workers(cfg)
    plugins = PluginHost.load(cfg)  # a broken plugin stops startup here, not in N workers
    load_secret(cfg.data_dir)  # made once, not raced by the workers
    webpush.load_key(cfg.data_dir)
    return Supervisor(cfg, plugins, listen_sockets(cfg)).run()


class Supervisor:
    """The parent of the workers: starts them, restarts one that dies, and on SIGTERM/SIGINT
    passes the signal on and waits for every worker's graceful stop.

    Worker 0 starts first and applies any pending migration; the others start once it
    serves. A worker that dies before every worker has served once is a startup failure
    (an unreachable database, a failed migration): everything stops, exit 1. Later deaths are
    restarted, with a growing pause while a worker keeps dying before it serves."""

    SIGNALS = (signal.SIGTERM, signal.SIGINT, signal.SIGCHLD)
    MAX_RESTART_DELAY = 30  # seconds
    STOP_TIMEOUT = SHUTDOWN_GRACE + 12  # seconds workers get to stop before SIGKILL

    def __init__(self, cfg: Config, plugins: PluginHost, sockets: list):
        self.cfg, self.plugins, self.sockets = cfg, plugins, sockets
        self.count = cfg.server.workers
        self.pids: dict[int, int] = {}  # pid → slot
        self.serving: set[int] = set()  # slots whose current worker serves
        self.failures = [0] * self.count  # deaths before serving, in a row, per slot
        self.due: dict[int, float] = {}  # slot → when to start it (time.monotonic)
        self.started = False  # every worker has served once: startup is over
        self.stop_deadline: float | None = None
        self.code = 0

    def run(self) -> int:
        self.ready_r, self.ready_w = os.pipe()
        self.wake_r, self.wake_w = os.pipe()
        for fd in (self.ready_r, self.wake_r, self.wake_w):
            os.set_blocking(fd, False)
        previous = {sig: signal.signal(sig, _ignore) for sig in self.SIGNALS}
        signal.set_wakeup_fd(self.wake_w)  # a signal's number lands in the pipe, waking select()
        try:
            self.spawn(0)
            while self.pids or self.stop_deadline is None:
                self.wait()
                self.reap()
                self.start_due()
                self.kill_late()
        finally:
            signal.set_wakeup_fd(-1)
            for sig, handler in previous.items():
                signal.signal(sig, handler)
            for fd in (self.ready_r, self.ready_w, self.wake_r, self.wake_w):
                os.close(fd)
            self.close_sockets()
        log.info("every worker stopped")
        return self.code

    def wait(self) -> None:
        """Sleep until a signal, a worker's "serving", or the next scheduled start."""
        timeout = None
        if self.due:
            timeout = max(0.0, min(self.due.values()) - time.monotonic())
        if self.stop_deadline is not None:
            timeout = max(0.0, min(timeout if timeout is not None else 1.0, 1.0))
        readable, _, _ = select.select([self.wake_r, self.ready_r], [], [], timeout)
        if self.ready_r in readable:
            for line in _drain(self.ready_r).split():
                self.on_serving(int(line))
        if self.wake_r in readable:
            for sig in _drain(self.wake_r):
                if sig in (signal.SIGTERM, signal.SIGINT):
                    self.stop(sig)

    def spawn(self, slot: int) -> None:
        """Fork one worker. Signals are held across the fork, so none reaches the child
        before it has put back the default handlers."""
        self.due.pop(slot, None)
        sys.stdout.flush()
        sys.stderr.flush()  # or the child would write the parent's buffered text again
        signal.pthread_sigmask(signal.SIG_BLOCK, self.SIGNALS)
        try:
            pid = os.fork()
            if pid == 0:
                self.become_worker(slot)  # never returns
        finally:
            signal.pthread_sigmask(signal.SIG_UNBLOCK, self.SIGNALS)
        self.pids[pid] = slot
        log.info("worker %d started (pid %d)", slot, pid)

    def become_worker(self, slot: int) -> None:
        """In the child: drop the parent's signal plumbing, serve, and exit without
        running the parent's clean-up."""
        code = 1
        try:
            signal.set_wakeup_fd(-1)
            signal.signal(signal.SIGTERM, signal.SIG_DFL)
            signal.signal(signal.SIGINT, signal.default_int_handler)
            signal.signal(signal.SIGCHLD, signal.SIG_DFL)
            for fd in (self.ready_r, self.wake_r, self.wake_w):
                os.close(fd)
            signal.pthread_sigmask(signal.SIG_UNBLOCK, self.SIGNALS)
            code = run_worker(self.cfg, self.sockets, slot, self.ready_w)
        except KeyboardInterrupt:
            code = 0
        except BaseException:
            log.exception("worker %d failed", slot)
        finally:
            sys.stdout.flush()
            sys.stderr.flush()
            os._exit(code)

    def on_serving(self, pid: int) -> None:
        slot = self.pids.get(pid)
        if slot is None:
            return  # it died meanwhile
        self.serving.add(slot)
        self.failures[slot] = 0
        if self.stop_deadline is not None or self.started:
            return
        if slot == 0:  # migrations are applied: the others may start together
            for other in range(1, self.count):
                self.spawn(other)
        if len(self.serving) == self.count:
            self.started = True
            print_startup(self.cfg, self.plugins, sorted(self.pids))

    def reap(self) -> None:
        """Collect every worker that has exited; restart it, or end startup."""
        while self.pids:
            try:
                pid, status = os.waitpid(-1, os.WNOHANG)
            except ChildProcessError:
                return
            if pid == 0:
                return
            slot = self.pids.pop(pid, None)
            if slot is None:
                continue
            self.serving.discard(slot)
            self.exited(slot, pid, os.waitstatus_to_exitcode(status))

    def exited(self, slot: int, pid: int, code: int) -> None:
        how = f"exited with code {code}" if code >= 0 else f"was killed by {signal.Signals(-code).name}"
        if self.stop_deadline is not None:
            if code not in (0, -signal.SIGTERM, -signal.SIGINT):
                log.warning("worker %d (pid %d) %s while stopping", slot, pid, how)
                self.code = 1
            return
        if not self.started:
            log.error("worker %d (pid %d) %s during startup; stopping", slot, pid, how)
            self.code = 1
            self.stop(signal.SIGTERM)
            return
        delay = min(self.MAX_RESTART_DELAY, 2 ** self.failures[slot] - 1)
        self.failures[slot] += 1
        log.warning("worker %d (pid %d) %s unexpectedly; starting another in %ds", slot, pid, how, delay)
        self.due[slot] = time.monotonic() + delay

    def start_due(self) -> None:
        now = time.monotonic()
        for slot, when in list(self.due.items()):
            if when <= now and self.stop_deadline is None:
                self.spawn(slot)

    def stop(self, sig: int) -> None:
        """Stop listening here and pass the signal on; each worker finishes its requests."""
        if self.stop_deadline is not None:
            return
        log.info("stopping %d worker(s)", len(self.pids))
        self.stop_deadline = time.monotonic() + self.STOP_TIMEOUT
        self.due.clear()
        self.close_sockets()
        for pid in self.pids:
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, sig)

    def kill_late(self) -> None:
        if self.stop_deadline is None or time.monotonic() < self.stop_deadline:
            return
        for pid, slot in self.pids.items():
            log.warning("worker %d (pid %d) still running %ds after the signal; killing it",
                        slot, pid, self.STOP_TIMEOUT)
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)
        self.code = 1
        self.stop_deadline = float("inf")

    def close_sockets(self) -> None:
        for sock in self.sockets:
            sock.close()


def run_worker(cfg: Config, sockets: list, slot: int, ready_fd: int) -> int:
    """One worker process: its own event loop and database connections → exit code."""
    def ready() -> None:
        os.write(ready_fd, f"{os.getpid()}\n".encode())

    try:
        asyncio.run(serve(cfg, sockets, ready))
    except (ConfigError, MigrationError, Unavailable, FyncError, OSError) as exc:
        text = exc.description if isinstance(exc, FyncError) else " ".join(str(exc).split())
        print(f"fync: error: worker {slot}: {text}", file=sys.stderr, flush=True)
        return 1
    return 0


def _ignore(signum, frame) -> None:
    """A Python-level handler, so that set_wakeup_fd sees the signal; the loop acts on it."""


def _drain(fd: int) -> bytes:
    data = b""
    with contextlib.suppress(BlockingIOError):
        while chunk := os.read(fd, 4096):
            data += chunk
    return data


