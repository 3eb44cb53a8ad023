"""What bench/profile.py and bench/growth.py share: a `fync serve` on a data dir,
and the shared driver's OAuth arguments for it."""
from __future__ import annotations

import os
import subprocess
import time
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
FYNC = ROOT / ".venv" / "bin" / "fync"
PORT = 18090
OAUTH = ["--base", f"http://127.0.0.1:{PORT}", "--login-path", "/login", "--username", "bench",
         "--password", "bench-password", "--register-path", "/oauth/register", "--client-auth", "post",
         "--redirect-uri", "http://127.0.0.1:9/callback", "--scope", "profile friends:read", "--xsrf", "--consent"]


def env_for(data: Path) -> dict:
    return dict(os.environ, FYNC_SERVER_DATA_DIR=str(data), FYNC_SERVER_PORT=str(PORT),
                FYNC_SERVER_PUBLIC_URL=f"http://127.0.0.1:{PORT}",
                FYNC_OAUTH_REGISTRATIONS_PER_HOUR_PER_IP="1000")


def add_bench_user(data: Path) -> None:
    subprocess.run([FYNC, "user", "add", "bench", "--password-stdin"], input="bench-password\n",
                   text=True, env=env_for(data), check=True, capture_output=True)


def start_server(data: Path, cpu: str | None = "0") -> subprocess.Popen:
    """`fync serve` on DATA (pinned to one core like the shared suite), once it answers."""
    argv = (["taskset", "-c", cpu] if cpu else []) + [str(FYNC), "serve"]
    server = subprocess.Popen(argv, env=env_for(data), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    for _ in range(200):
        try:
            urllib.request.urlopen(f"http://127.0.0.1:{PORT}/.well-known/oauth-authorization-server")
            return server
        except OSError:
            time.sleep(0.1)
    server.kill()
    raise SystemExit("fync serve did not come up")


def stop(server: subprocess.Popen) -> None:
    server.terminate()
    server.wait(15)


def load_argv(bench: Path, test: str, seconds: int, pid: int) -> list:
    """The shared driver's command line for one test against this server."""
    load = ["taskset", "-c", "1", bench / ".venv/bin/python", bench / "load.py"]
    if test == "me":
        token = subprocess.run([*load, "token", *OAUTH], capture_output=True, text=True, check=True)
        argv = [*load, "me", "--url", f"http://127.0.0.1:{PORT}/api/me", "--token", token.stdout.split()[-1]]
    else:
        argv = [*load, test, *OAUTH]
    return [*argv, "--duration", str(seconds), "--server-pid", str(pid)]
