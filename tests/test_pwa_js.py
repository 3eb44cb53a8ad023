"""The app's own logic, unit-tested with node's built-in test runner (tests/js/*.test.mjs):
login with PKCE/state/iss, token renewal with rotation under a lock, the outbox's order,
once-only sending and kept refusals, and local times in a zone. Run here so `make test` runs them."""
from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path

import pytest

HERE = Path(__file__).parent / "js"
NODE = shutil.which("node")


def node_major() -> int:
    out = subprocess.run([NODE, "--version"], capture_output=True, text=True).stdout
    return int(re.match(r"v(\d+)", out).group(1))


@pytest.mark.skipif(NODE is None, reason="the app's unit tests need node (20 or later)")
@pytest.mark.parametrize("suite", sorted(p.name for p in HERE.glob("*.test.mjs")))
def test_app_modules(suite):
    assert node_major() >= 20, "the app's unit tests need node 20 or later"
    proc = subprocess.run([NODE, "--test", suite], cwd=HERE, capture_output=True, text=True, timeout=120)
    passed = re.search(r"^# pass (\d+)", proc.stdout, re.M)
    assert proc.returncode == 0 and passed and int(passed.group(1)) > 0, proc.stdout[-4000:] + proc.stderr[-2000:]
