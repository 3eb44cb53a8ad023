"""A targets file for `load.py suite` that runs several Fync builds side by side, so each
round measures them back to back beside the ceiling (A/B tests on a noisy machine).

    .venv/bin/python bench/ab_targets.py gc=/tmp/fync-gc nogc=/tmp/fync-nogc > /tmp/ab.json
    /tmp/bench/.venv/bin/python /tmp/bench/load.py suite --config /tmp/ab.json --rounds 5 --duration 5 \\
        --warmup 2 --out /tmp/bench/run/ab.json

Each NAME=CHECKOUT (a checkout with its own .venv) becomes a copy of the shared `fync`
target on its own port and data dir; `--env KEY=VALUE` (repeatable, `{name}` expands to
the target's name) adds to every copy's environment, e.g. a PostgreSQL database each;
`--env-for NAME:KEY=VALUE` to one copy only (one build on SQLite, one on PostgreSQL).
"""
from __future__ import annotations

import argparse
import json
from pathlib import Path

FIRST_PORT = 18083


def build(shared: dict, builds: list[tuple[str, str]], env: list[tuple[str, str]],
          env_for: dict[str, list[tuple[str, str]]] | None = None) -> dict:
    targets = {"ceiling": shared["targets"]["ceiling"]}
    for i, (name, checkout) in enumerate(builds):
        text = json.dumps(shared["targets"]["fync"])
        text = text.replace("{project}", str(Path(checkout).resolve())).replace("run/fync-data", f"run/{name}-data")
        target = json.loads(text)
        target["port"] = FIRST_PORT + i
        own = env + (env_for or {}).get(name, [])
        target["env"].update({key: value.replace("{name}", name) for key, value in own})
        targets[name] = target
    return {"targets": targets}


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("builds", nargs="+", metavar="NAME=CHECKOUT")
    p.add_argument("--env", action="append", default=[], metavar="KEY=VALUE")
    p.add_argument("--env-for", action="append", default=[], metavar="NAME:KEY=VALUE")
    p.add_argument("--shared", default="/tmp/bench/targets.json", help="the shared harness's targets file")
    args = p.parse_args()
    shared = json.loads(Path(args.shared).read_text())
    pairs = [tuple(arg.split("=", 1)) for arg in args.builds]
    env = [tuple(arg.split("=", 1)) for arg in args.env]
    env_for: dict[str, list[tuple[str, str]]] = {}
    for arg in args.env_for:
        name, setting = arg.split(":", 1)
        env_for.setdefault(name, []).append(tuple(setting.split("=", 1)))
    print(json.dumps(build(shared, pairs, env, env_for), indent=1))


if __name__ == "__main__":
    main()
