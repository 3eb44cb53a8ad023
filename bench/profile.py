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
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from harness import add_bench_user, load_argv, start_server, stop



def drive(bench: Path, test: str, seconds: int, pid: int) -> subprocess.Popen:
    return subprocess.Popen(load_argv(bench, test, seconds, pid), stdout=subprocess.PIPE,
                            stderr=subprocess.STDOUT, text=True)


def summarise(raw: Path, top: int = 18, only: str = "") -> None:
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
        for frame, n in [(f, n) for f, n in counter.most_common() if only in f][:top]:
            print(f"{100 * n / total:5.1f}%  {frame}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("test", choices=["refresh", "flow", "me"])
    parser.add_argument("--seconds", type=int, default=15)
    parser.add_argument("--bench", type=Path, default=Path("/tmp/bench"))
    parser.add_argument("--only", default="", help="show only frames whose text contains this (e.g. a file name)")
    parser.add_argument("--top", type=int, default=18)
    args = parser.parse_args()
    data = Path(tempfile.mkdtemp(prefix="fync-profile-"))
    add_bench_user(data)
    server = start_server(data, cpu=None)
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
                          if k in ("ops_per_s", "rps", "p50_ms", "p99_ms", "errors", "server_cpu_us_per_op")}))
        summarise(raw, top=args.top, only=args.only)
    finally:
        stop(server)
        shutil.rmtree(data, ignore_errors=True)


if __name__ == "__main__":
    main()
