"""Schemathesis against `/api/openapi.json` (issue 10 item 3, issue 16 item 5;
SECURITY-CHECKLIST (c)): the document and the server agree, both ways.

Every documented operation is called with generated requests, valid and invalid
(schemathesis' coverage, fuzzing and stateful phases), with every check: no answer
may be a 5xx or contradict the document (status codes, content types, headers,
response schemas); invalid input must be refused and valid input accepted; protected
operations must not ignore missing credentials. The runs: with a bearer token holding
every scope of the instance, without credentials, and — for the token, revocation
and introspection endpoints — as an authenticated client.

A few refusals of valid data come from rules JSON Schema cannot state (a cursor this
server signed, an end before the start, a code it issued); tests/fuzz_hooks.py
forgives exactly those, by the server's own words. NUL characters are not generated:
Fync refuses them anywhere in a request, which a schema cannot say of fields it does
not name.

The server is `fync serve` as a process (on FYNC_TEST_DATABASE_URL's PostgreSQL when
set); the schemathesis CLI drives it (its pytest plugin does not run under pytest 9).
The suite runs a fixed seed and a few hundred requests; `make fuzz` sets
FYNC_FUZZ_EXAMPLES (examples per operation) and a random seed.
"""
from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import httpx
import pytest

import pg_helpers
from serve_helpers import REDIRECT, Account, FyncServer

SCHEMATHESIS = str(Path(sys.executable).with_name("schemathesis"))
CONFIG = Path(__file__).with_name("schemathesis.toml")
EXAMPLES = int(os.environ.get("FYNC_FUZZ_EXAMPLES", "0")) or None
SUITE_EXAMPLES, SUITE_SEED = 10, 1616
COUNTED: dict[str, int] = {}


@pytest.fixture(scope="module")
def fuzzed(tmp_path_factory):
    database = pg_helpers.create_database() if pg_helpers.SERVER_URL else ""
    # Fuzzed registrations would soon meet the per-IP limit; a high one lets them reach the checks.
    server = FyncServer(tmp_path_factory.mktemp("fuzz"), FYNC_OAUTH_REGISTRATIONS_PER_HOUR_PER_IP=1_000_000,
                        **({"FYNC_DATABASE_URL": database} if database else {})).start()
    every_scope = " ".join(httpx.get(f"{server.url}/.well-known/oauth-authorization-server")
                           .json()["scopes_supported"])
    alice = Account(server.url, "alice").signup()
    server.client = alice.register(scope=every_scope)
    server.token = alice.tokens(server.client, scope=every_scope)["access_token"]
    alice.close()
    yield server
    server.stop()
    if database:
        pg_helpers.drop_database(database)
    else:
        assert server.integrity() == ("ok", [])
    assert "Traceback" not in server.log, server.log[-4000:]
    print(f"\nschemathesis: {sum(COUNTED.values())} test cases ({COUNTED}), no failure")


def schemathesis(server: FyncServer, folder: Path, name: str, *args: str, phases: str = "",
                 examples: int = SUITE_EXAMPLES, config: str = "") -> str:
    """One run (only `phases` when given; the suite's: fixed seed, `examples` per operation);
    any failure fails the test with schemathesis' report → the report."""
    report, settings = folder / f"{name}.txt", folder / "schemathesis.toml"
    settings.write_text(CONFIG.read_text() + config)
    examples = ["-n", str(EXAMPLES)] if EXAMPLES else ["-n", str(examples), "--seed", str(SUITE_SEED)]
    examples += ["--phases", phases] if phases else []
    argv = [SCHEMATHESIS, "--config-file", str(settings), "run", f"{server.url}/api/openapi.json",
            "--checks", "all", "--no-color", "--generation-allow-x00", "false", "--generation-database", "none",
            "--request-timeout", "20", "--max-failures", "20", "--workers", "1", *examples, *args]
    env = {**os.environ, "SCHEMATHESIS_HOOKS": "fuzz_hooks",
           "PYTHONPATH": os.pathsep.join([str(Path(__file__).parent), os.environ.get("PYTHONPATH", "")])}
    with report.open("w") as out:
        result = subprocess.run(argv, stdout=out, stderr=subprocess.STDOUT, cwd=folder, env=env,
                                timeout=None if EXAMPLES else 600)
    text = report.read_text()
    generated = re.search(r"(\d+) generated", text)
    COUNTED[name] = int(generated.group(1)) if generated else 0
    assert result.returncode == 0, text[-12000:]
    assert server.proc.poll() is None, "the server died under the fuzzer"
    return text


def test_every_operation_with_a_token_holding_every_scope(fuzzed, tmp_path):
    text = schemathesis(fuzzed, tmp_path, "bearer", "-H", f"Authorization: Bearer {fuzzed.token}")
    documented = httpx.get(f"{fuzzed.url}/api/openapi.json").json()["paths"]
    operations = sum(len(item) for item in documented.values()) - 1  # all but the document itself
    assert f"Tested: {operations}\n" in text, text[-3000:]
    assert COUNTED["bearer"] >= 300, text[-3000:]  # a few hundred test cases at least


def test_every_operation_without_credentials(fuzzed, tmp_path):
    # Mostly 401s: what matters is that none is missing and none answers without credentials.
    schemathesis(fuzzed, tmp_path, "anonymous", phases="fuzzing", examples=3)


def test_the_token_endpoints_as_an_authenticated_client(fuzzed, tmp_path):
    client = fuzzed.client
    schemathesis(fuzzed, tmp_path, "client", "--auth", f"{client['client_id']}:{client['client_secret']}",
                 "--include-path-regex", r"^/oauth/(token|revoke|introspect)$", phases="coverage,fuzzing")


def test_registration_management_with_its_token(fuzzed, tmp_path):
    """RFC 7592 read and update with the registration access token (deleting ends the run's client)."""
    client = httpx.post(f"{fuzzed.url}/oauth/register", json={"redirect_uris": [REDIRECT]}).json()
    # The header goes to these operations only: the document itself would refuse it (a token
    # that is not an access token is a bad token, even on a public endpoint).
    schemathesis(fuzzed, tmp_path, "registration", "--include-path-regex", r"^/oauth/register/",
                 "--exclude-method", "DELETE", phases="coverage,fuzzing", config=f"""
[[operations]]
include-path-regex = "^/oauth/register/"
headers = {{ Authorization = "Bearer {client['registration_access_token']}" }}
parameters = {{ "path.client_id" = "{client['client_id']}" }}
""")
