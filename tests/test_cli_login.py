"""`fync login`, `fync whoami`, `fync logout` end to end (SPEC §8): a real
`fync serve` subprocess, the CLI as another subprocess, and the test playing the
person in a browser with httpx (log in, open the printed URL, allow, follow the
redirect to the CLI's loopback listener).
"""
from __future__ import annotations

import json
import re
import queue
import stat
import subprocess
import threading
import time
from pathlib import Path

import httpx
import pytest

from test_cli import FYNC, assert_one_line_error, clean_env, free_port, wait_for

PASSWORD = "password one"


@pytest.fixture
def server(tmp_path):
    """`fync serve` on a free port with public_url http://127.0.0.1:PORT and user alice → its URL."""
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    env = clean_env(FYNC_SERVER_DATA_DIR=str(tmp_path / "data"), FYNC_SERVER_PUBLIC_URL=url)
    out = tmp_path / "serve.out"
    with out.open("w") as o:
        proc = subprocess.Popen([FYNC, "serve", "--port", str(port)], stdout=o, stderr=subprocess.STDOUT,
                                cwd=tmp_path, env=env)
    try:
        wait_for(out, "plugins:", proc)
        added = subprocess.run([FYNC, "user", "add", "alice", "--password-stdin"], input=PASSWORD + "\n",
                               capture_output=True, text=True, cwd=tmp_path, env=env, timeout=60)
        assert added.returncode == 0, added.stderr
        yield url
    finally:
        proc.kill()
        proc.wait()


@pytest.fixture
def client_env(tmp_path):
    """A person's environment: HOME and XDG_CONFIG_HOME in tmp, no browser opened."""
    (tmp_path / "home").mkdir()
    return clean_env(HOME=str(tmp_path / "home"), XDG_CONFIG_HOME=str(tmp_path / "xdg"), FYNC_NO_BROWSER="1")


@pytest.fixture
def credentials(tmp_path) -> Path:
    return tmp_path / "xdg" / "fync" / "credentials.json"


def domain_of(url: str) -> str:
    return url.split("://", 1)[1]


def client(tmp_path, env, *args: str, timeout: float = 60) -> subprocess.CompletedProcess:
    return subprocess.run([FYNC, *args], capture_output=True, text=True, cwd=tmp_path, env=env, timeout=timeout)


class Lines:
    """A process's stdout read in a thread (a pipe read has no timeout), line by line."""

    def __init__(self, proc: subprocess.Popen):
        self.proc, self.queue, self.seen = proc, queue.Queue(), []
        self.thread = threading.Thread(target=self._read, daemon=True)
        self.thread.start()

    def _read(self) -> None:
        for line in iter(self.proc.stdout.readline, ""):
            self.queue.put(line)

    def until(self, pattern: str, seconds: float = 30) -> re.Match:
        """The first match of `pattern` in a new line; fail when time runs out."""
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline:
            try:
                self.seen.append(self.queue.get(timeout=0.1))
            except queue.Empty:
                continue
            match = re.search(pattern, self.seen[-1])
            if match:
                return match
        raise AssertionError(f"{pattern!r} not printed; exit={self.proc.poll()} out={''.join(self.seen)!r}")

    def all(self) -> str:
        """Everything printed, once the process has ended."""
        self.thread.join(timeout=10)
        while not self.queue.empty():
            self.seen.append(self.queue.get())
        return "".join(self.seen)


def play_the_person(server: str, authorization_url: str, decision: str = "allow") -> httpx.Response:
    """Log in to the instance, open the URL, answer consent, follow the redirect → the listener's page."""
    with httpx.Client(base_url=server, follow_redirects=False, timeout=30) as browser:
        browser.get("/login")
        xsrf = browser.cookies["_xsrf"]
        r = browser.post("/login", data={"username": "alice", "password": PASSWORD, "_xsrf": xsrf})
        assert r.status_code in (302, 303), r.text
        answer = browser.get(authorization_url)
        if answer.status_code == 200:  # the consent page; else remembered consent answered at once
            request_id = re.search(r'name="request_id" value="([^"]+)"', answer.text).group(1)
            scopes = re.findall(r'name="scope" value="([^"]+)" checked', answer.text)
            answer = browser.post("/oauth/authorize", data={"_xsrf": xsrf, "request_id": request_id,
                                                            "decision": decision, "scope": scopes})
        assert answer.status_code in (302, 303), answer.text
    return httpx.get(answer.headers["Location"], timeout=30)


def login(tmp_path, server: str, env: dict, *extra: str, decision: str = "allow"):
    """Run `fync login` through the browser dance → (completed process, the listener's page)."""
    proc = subprocess.Popen([FYNC, "login", domain_of(server), *extra], stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True, cwd=tmp_path, env=env)
    try:
        out = Lines(proc)
        page = play_the_person(server, out.until(r"(http://\S+/oauth/authorize\?\S+)").group(1), decision)
        proc.wait(timeout=30)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    return subprocess.CompletedProcess(proc.args, proc.returncode, out.all(), proc.stderr.read()), page


def test_login_whoami_logout(tmp_path, server, client_env, credentials):
    domain = domain_of(server)
    done, page = login(tmp_path, server, client_env)
    assert page.status_code == 200 and "close this tab" in page.text
    assert done.returncode == 0, done.stderr
    assert f"logged in to {domain} as alice" in done.stdout
    assert stat.S_IMODE(credentials.stat().st_mode) == 0o600
    assert stat.S_IMODE(credentials.parent.stat().st_mode) == 0o700

    whoami = client(tmp_path, client_env, "whoami", domain)
    assert whoami.returncode == 0, whoami.stderr
    me = json.loads(whoami.stdout)
    assert me["username"] == "alice" and me["acct"] == f"alice@{domain}"

    stored = json.loads(credentials.read_text())["instances"][domain]
    logout = client(tmp_path, client_env, "logout", domain)
    assert logout.returncode == 0, logout.stderr
    assert f"logged out of {domain}" in logout.stdout
    refused = httpx.post(f"{server}/oauth/token", data={
        "grant_type": "refresh_token", "refresh_token": stored["tokens"]["refresh_token"],
        "client_id": stored["client"]["client_id"]})
    assert refused.status_code == 400 and refused.json()["error"] == "invalid_grant"
    assert "tokens" not in json.loads(credentials.read_text())["instances"][domain]
    assert_one_line_error(client(tmp_path, client_env, "whoami", domain),
                          f"not logged in to {domain}; run: fync login {domain}")


def test_a_second_login_reuses_the_registration(tmp_path, server, client_env, credentials):
    domain = domain_of(server)
    assert login(tmp_path, server, client_env)[0].returncode == 0
    first = json.loads(credentials.read_text())["instances"][domain]["client"]["client_id"]
    assert login(tmp_path, server, client_env)[0].returncode == 0
    assert json.loads(credentials.read_text())["instances"][domain]["client"]["client_id"] == first


def test_whoami_renews_an_expired_token(tmp_path, server, client_env, credentials):
    domain = domain_of(server)
    assert login(tmp_path, server, client_env)[0].returncode == 0
    data = json.loads(credentials.read_text())
    before = data["instances"][domain]["tokens"]
    data["instances"][domain]["tokens"]["expires_at"] = time.time() - 1  # as if an hour had passed
    credentials.write_text(json.dumps(data))
    assert client(tmp_path, client_env, "whoami", domain).returncode == 0
    after = json.loads(credentials.read_text())["instances"][domain]["tokens"]
    assert after["refresh_token"] != before["refresh_token"] and after["expires_at"] > time.time()


def test_a_denied_login_is_one_line(tmp_path, server, client_env, credentials):
    done, _ = login(tmp_path, server, client_env, decision="deny")
    assert_one_line_error(done, "denied")


def test_login_without_profile_scope_says_so(tmp_path, server, client_env):
    done, _ = login(tmp_path, server, client_env, "--scope", "friends:read")
    assert done.returncode == 0, done.stderr
    assert f"logged in to {domain_of(server)} (scope: friends:read" in done.stdout


def test_login_times_out(tmp_path, server, client_env):
    result = client(tmp_path, client_env, "login", domain_of(server), "--timeout", "1")
    assert_one_line_error(result, "no answer from the browser within 1 s")


def test_login_refuses_plain_http_to_a_remote_host(tmp_path, client_env):
    assert_one_line_error(client(tmp_path, client_env, "login", "http://example.org"), "https")


def test_login_to_a_host_that_does_not_answer(tmp_path, client_env):
    port = free_port()
    assert_one_line_error(client(tmp_path, client_env, "login", f"127.0.0.1:{port}"), f"cannot reach 127.0.0.1:{port}")


@pytest.mark.parametrize("command", ["whoami", "logout"])
def test_not_logged_in_is_one_line(tmp_path, client_env, command):
    assert_one_line_error(client(tmp_path, client_env, command, "example.org"),
                          "not logged in to example.org; run: fync login example.org")


@pytest.mark.parametrize("command", ["login", "whoami", "logout"])
def test_help(tmp_path, command):
    result = client(tmp_path, clean_env(), command, "--help")
    assert result.returncode == 0 and result.stdout.startswith(f"usage: fync {command}")


def test_client_commands_ignore_server_config(tmp_path, client_env):
    """A broken fync.toml in the working folder is the server's business, not the client's."""
    (tmp_path / "fync.toml").write_text("[server]\nprot = 1\n")
    result = client(tmp_path, client_env, "whoami", "example.org")
    assert_one_line_error(result, "not logged in")


def test_browser_is_not_opened_in_ci_or_when_told_not_to():
    from gancio_like.cli.client_side import browser_available
    assert not browser_available({"FYNC_NO_BROWSER": "1", "DISPLAY": ":0"})
    assert not browser_available({"CI": "true", "DISPLAY": ":0"})
    assert not browser_available({"PYTEST_CURRENT_TEST": "x", "DISPLAY": ":0"})
