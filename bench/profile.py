"""Profile one hot path of a running Fync with py-spy, driven by the shared harness.

    python bench/profile.py refresh|flow|me [--seconds 15] [--bench /tmp/bench]

Starts `fync serve` on a fresh data dir (port 18090), drives the path with the shared
driver (`load.py`), samples the server with py-spy, and prints the frames where the
time goes (inclusive and self). Needs py-spy (pip install py-spy) and the shared
bench copied to --bench (see bench/README.md).
"""
from __future__ import annotations

import argparse
import collections
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
FYNC = ROOT / ".venv" / "bin" / "fync"
PORT = 18090


def start_server(data: Path) -> subprocess.Popen:
    env = dict(os.environ, FYNC_SERVER_DATA_DIR=str(data), FYNC_SERVER_PORT=str(PORT),
               FYNC_SERVER_PUBLIC_URL=f"http://127.0.0.1:{PORT}",
               FYNC_OAUTH_REGISTRATIONS_PER_HOUR_PER_IP="1000")
    subprocess.run([FYNC, "user", "add", "bench", "--password-stdin"], input="bench-password\n",
                   text=True, env=env, check=True, capture_output=True)
    server = subprocess.Popen([FYNC, "serve"], env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    for _ in range(100):
        try:
            urllib.request.urlopen(f"http://127.0.0.1:{PORT}/.well-known/oauth-authorization-server")
            return server
        except OSError:
            time.sleep(0.1)
    raise SystemExit("fync serve did not come up")


def drive(bench: Path, test: str, seconds: int, pid: int) -> subprocess.Popen:
    oauth = ["--base", f"http://127.0.0.1:{PORT}", "--login-path", "/login", "--username", "bench",
             "--password", "bench-password", "--register-path", "/oauth/register", "--client-auth", "post",
             "--redirect-uri", "http://127.0.0.1:9/callback", "--scope", "profile friends:read"]
    return subprocess.Popen([bench / ".venv/bin/python", bench / "load.py", test, *oauth, "--xsrf", "--consent",
                             "--duration", str(seconds), "--server-pid", str(pid)],
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)


def summarise(raw: Path, top: int = 18) -> None:
    inclusive, own, total = collections.Counter(), collections.Counter(), 0
    for line in raw.read_text().splitlines():
        stack, _, count = line.rpartition(" ")
        frames = [f.split(" (")[0] + " " + f.split("/")[-1].rstrip(")") for f in stack.split(";")]
        total += int(count)
        own[frames[-1]] += int(count)
        for frame in set(frames):
            inclusive[frame] += int(count)
    for title, counter in (("inclusive", inclusive), ("self", own)):
        print(f"\n== top {top} by {title} time ({total} samples) ==")
        for frame, n in counter.most_common(top):
            print(f"{100 * n / total:5.1f}%  {frame}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("test", choices=["refresh", "flow", "me"])
    parser.add_argument("--seconds", type=int, default=15)
    parser.add_argument("--bench", type=Path, default=Path("/tmp/bench"))
    args = parser.parse_args()
    if args.test == "me":
        raise SystemExit("profile `me` with: load.py me --url ... --token ... (needs a token from load.py token)")
    data = Path(tempfile.mkdtemp(prefix="fync-profile-"))
    server = start_server(data)
    try:
        load = drive(args.bench, args.test, args.seconds + 4, server.pid)
        time.sleep(3)  # login, registration, consent and the token pool first
        raw = data / "profile.txt"
        subprocess.run([shutil.which("py-spy") or str(Path(sys.executable).with_name("py-spy")), "record",
                        "--pid", str(server.pid), "--duration", str(args.seconds), "--rate", "200",
                        "--format", "raw", "--output", str(raw), "--nonblocking"], check=True,
                       capture_output=True)
        result = load.communicate()[0].strip().splitlines()
        print(json.dumps({k: v for k, v in json.loads(result[-1]).items()
                          if k in ("ops_per_s", "p50_ms", "p99_ms", "errors", "server_cpu_us_per_op")}))
        summarise(raw)
    finally:
        server.terminate()
        server.wait(15)
        shutil.rmtree(data, ignore_errors=True)


if __name__ == "__main__":
    main()
