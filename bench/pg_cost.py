"""What one operation costs on PostgreSQL, on both sides of the connection: Fync's CPU
and the PostgreSQL cluster's CPU per refresh or flow, and its commits per operation —
the figures of bench/README.md's model of a larger machine.

    .venv/bin/python bench/pg_cost.py postgresql://postgres@127.0.0.1:55460 /path/to/pgdata \
        [--test refresh|flow|me] [--seconds 10]

Makes the database `fync_cost` afresh, starts `fync serve` (port 18090, pinned to core 0
like the suite), drives it with the shared driver from
core 1, and reads the CPU time of the cluster's process tree (the postmaster's PID is
the first line of PGDATA/postmaster.pid) and pg_stat_database's commits around the run.
"""
from __future__ import annotations

import argparse
import asyncio
import json
import os
import subprocess
import tempfile
import time
from pathlib import Path

import asyncpg

from harness import add_bench_user, load_argv, start_server, stop

TICK = os.sysconf("SC_CLK_TCK")


def tree_cpu(root: int) -> float:
    """utime + stime, in seconds, of `root` and every process under it."""
    children: dict[int, list[int]] = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                ppid = int((entry / "stat").read_text().rsplit(")", 1)[1].split()[1])
            except OSError:
                continue
            children.setdefault(ppid, []).append(int(entry.name))
    total, todo = 0.0, [root]
    while todo:
        pid = todo.pop()
        try:
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        total += (int(fields[11]) + int(fields[12])) / TICK
        todo += children.get(pid, [])
    return total


async def commits(url: str) -> int:
    conn = await asyncpg.connect(url)
    try:
        return await conn.fetchval("SELECT xact_commit FROM pg_stat_database WHERE datname = 'fync_cost'")
    finally:
        await conn.close()


async def fresh(server: str) -> None:
    conn = await asyncpg.connect(f"{server}/postgres")
    try:
        await conn.execute("DROP DATABASE IF EXISTS fync_cost WITH (FORCE)")
        await conn.execute("CREATE DATABASE fync_cost")
    finally:
        await conn.close()


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("server")
    p.add_argument("pgdata", type=Path)
    p.add_argument("--test", choices=["refresh", "flow", "me"], default="refresh")
    p.add_argument("--seconds", type=int, default=10)
    p.add_argument("--bench", type=Path, default=Path("/tmp/bench"))
    args = p.parse_args()
    asyncio.run(fresh(args.server))
    os.environ["FYNC_DATABASE_URL"] = f"{args.server}/fync_cost"
    postmaster = int((args.pgdata / "postmaster.pid").read_text().split()[0])
    data = Path(tempfile.mkdtemp(prefix="fync-pgcost-"))
    add_bench_user(data)
    server = start_server(data)
    try:
        load = subprocess.Popen(load_argv(args.bench, args.test, args.seconds + 3, server.pid),
                                stdout=subprocess.PIPE, text=True)
        time.sleep(3)  # login, registration, consent and the driver's own first flows
        pg0, c0, t0 = tree_cpu(postmaster), asyncio.run(commits(os.environ["FYNC_DATABASE_URL"])), time.time()
        result = json.loads(load.communicate()[0].strip().splitlines()[-1])
        pg1, c1, t1 = tree_cpu(postmaster), asyncio.run(commits(os.environ["FYNC_DATABASE_URL"])), time.time()
    finally:
        stop(server)
    ops = (result.get("ops_per_s") or result.get("rps")) * (t1 - t0)
    print(json.dumps({"test": args.test,
                      "ops_per_s": result.get("ops_per_s") or result.get("rps"),
                      "fync_cpu_us_per_op": result.get("server_cpu_us_per_op"),
                      "pg_cpu_us_per_op": round(1e6 * (pg1 - pg0) / ops, 1),
                      "pg_cpu_pct": round(100 * (pg1 - pg0) / (t1 - t0), 1),
                      "commits_per_op": round((c1 - c0) / ops, 2), "errors": result.get("errors")}))


if __name__ == "__main__":
    main()
