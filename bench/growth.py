"""Cost growth: refresh and flow rates with 10 000 vs 1 000 000 rows in the token tables.

    python bench/growth.py [--small 10000] [--large 1000000] [--seconds 8] [--rounds 3] [--bench /tmp/bench]

For each size: a fresh data dir filled through Fync's own storage layer
(bench/fill_tokens.py), `fync serve` on core 0, the shared driver on core 1.
Sizes alternate round by round; the ratio is large/small of the medians
(issue 9's goal: >= 0.8).
"""
from __future__ import annotations

import argparse
import json
import shutil
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

from harness import ROOT, load_argv, start_server, stop

PYTHON = ROOT / ".venv" / "bin" / "python"


def filled(rows: int) -> Path:
    data = Path(tempfile.mkdtemp(prefix=f"fync-growth-{rows}-"))
    subprocess.run([PYTHON, Path(__file__).with_name("fill_tokens.py"), str(data), "--rows", str(rows)], check=True)
    return data


def rate(bench: Path, data: Path, test: str, seconds: int) -> float:
    server = start_server(data)
    try:
        out = subprocess.run(load_argv(bench, test, seconds, server.pid), capture_output=True, text=True, check=True)
        result = json.loads(out.stdout.strip().splitlines()[-1])
        return result["ops_per_s"]
    finally:
        stop(server)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--small", type=int, default=10_000)
    parser.add_argument("--large", type=int, default=1_000_000)
    parser.add_argument("--seconds", type=int, default=8)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--bench", type=Path, default=Path("/tmp/bench"))
    args = parser.parse_args()
    dirs = {size: filled(size) for size in (args.small, args.large)}
    rates = {(size, test): [] for size in dirs for test in ("refresh", "flow")}
    try:
        for _ in range(args.rounds):
            for test in ("refresh", "flow"):
                for size, data in dirs.items():
                    rates[(size, test)].append(rate(args.bench, data, test, args.seconds))
        for test in ("refresh", "flow"):
            small = statistics.median(rates[(args.small, test)])
            large = statistics.median(rates[(args.large, test)])
            print(f"{test}: {small:.0f}/s at {args.small} rows, {large:.0f}/s at {args.large} rows, "
                  f"ratio {large / small:.2f}  (all: {rates[(args.small, test)]} vs {rates[(args.large, test)]})")
    finally:
        for data in dirs.values():
            shutil.rmtree(data, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
