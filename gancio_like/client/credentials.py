"""Where a client keeps, per instance domain, its registration and the user's tokens:
`$XDG_CONFIG_HOME/<app>/credentials.json`, by default `~/.config/fync/credentials.json`.

Refresh tokens are passwords in all but name, so the file is never readable by
anyone else, not even for a moment: each write creates a new file with mode 0600
(`os.open`, not chmod after the fact) in the same folder (0700), fsyncs it and
renames it over the old one, so a crash leaves the old file or the new, never half
of one. Read-modify-write runs under an advisory lock, because Fync rotates refresh
tokens: two processes refreshing at once must not lose the newer pair.
"""
from __future__ import annotations

import contextlib
import json
import os
import secrets
from collections.abc import Callable, Iterator
from pathlib import Path

from .errors import CredentialsError

try:
    import fcntl
except ImportError:  # pragma: no cover - Windows: no advisory locks, last writer wins
    fcntl = None

FILE_MODE, DIR_MODE = 0o600, 0o700
Entry = dict


def default_path(app: str = "fync", env: os._Environ | dict | None = None) -> Path:
    """`$XDG_CONFIG_HOME/<app>/credentials.json`; a relative XDG_CONFIG_HOME is ignored (XDG spec)."""
    env = os.environ if env is None else env
    base = env.get("XDG_CONFIG_HOME", "")
    root = Path(base) if base and Path(base).is_absolute() else Path.home() / ".config"
    return root / app / "credentials.json"


class CredentialStore:
    """{domain: entry} in one JSON file; an entry is whatever the app keeps per instance."""

    def __init__(self, path: Path | str):
        self.path = Path(path)

    def get(self, domain: str) -> Entry | None:
        return self._read().get(domain.lower())

    def domains(self) -> list[str]:
        return sorted(self._read())

    def update(self, domain: str, change: Callable[[Entry | None], Entry | None]) -> Entry | None:
        """Apply `change` to the domain's entry under the lock; None forgets the domain."""
        key = domain.lower()
        try:
            with self._locked():
                data = self._read()
                entry = change(data.get(key))
                if entry is None:
                    data.pop(key, None)
                else:
                    data[key] = entry
                self._write(data)
                return entry
        except OSError as exc:
            raise CredentialsError(f"cannot write {self.path}: {exc.strerror or exc}") from None

    def put(self, domain: str, entry: Entry) -> None:
        self.update(domain, lambda _old: entry)

    def forget(self, domain: str) -> None:
        self.update(domain, lambda _old: None)

    def _read(self) -> dict:
        try:
            data = json.loads(self.path.read_text(encoding="utf-8"))
        except FileNotFoundError:
            return {}
        except (OSError, ValueError) as exc:
            raise CredentialsError(f"cannot read {self.path} ({exc}); fix or delete it, then log in again") from None
        instances = data.get("instances") if isinstance(data, dict) else None
        if not isinstance(instances, dict):
            raise CredentialsError(f"{self.path} is not a credentials file; move it away and log in again")
        return instances

    def _write(self, instances: dict) -> None:
        folder = self.path.parent
        folder.mkdir(mode=DIR_MODE, parents=True, exist_ok=True)
        text = json.dumps({"version": 1, "instances": instances}, indent=2, sort_keys=True) + "\n"
        fd, tmp = _create_private(folder, self.path.name)
        try:
            with os.fdopen(fd, "w", encoding="utf-8") as f:
                f.write(text)
                f.flush()
                os.fsync(f.fileno())
            os.replace(tmp, self.path)
        except BaseException:
            with contextlib.suppress(OSError):
                os.unlink(tmp)
            raise
        _fsync_dir(folder)

    @contextlib.contextmanager
    def _locked(self) -> Iterator[None]:
        if fcntl is None:
            yield
            return
        self.path.parent.mkdir(mode=DIR_MODE, parents=True, exist_ok=True)
        fd = os.open(self.path.with_name(self.path.name + ".lock"), os.O_RDWR | os.O_CREAT, FILE_MODE)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX)
            yield
        finally:
            os.close(fd)  # closing releases the lock


def _create_private(folder: Path, name: str) -> tuple[int, str]:
    """A new, unique temp file that is 0600 from its first instant (umask can only narrow it)."""
    tmp = folder / f".{name}.{secrets.token_hex(8)}.tmp"
    flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_NOFOLLOW", 0)
    return os.open(tmp, flags, FILE_MODE), str(tmp)


def _fsync_dir(folder: Path) -> None:
    """Make the rename itself durable (POSIX); harmless where directories cannot be opened."""
    with contextlib.suppress(OSError):
        fd = os.open(folder, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)
