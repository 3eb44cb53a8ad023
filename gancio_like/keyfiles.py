"""Keys kept as files in the data folder (secret.key, vapid.key): made once, at first
start, and never rewritten. No internal imports."""
from __future__ import annotations

import os
from pathlib import Path
from typing import Callable


def read_or_create(path: Path, make: Callable[[], bytes]) -> bytes:
    """The file's bytes; made with `make()` first if it does not exist (mode 0600).

    Written whole under a private name, then linked into place: processes starting
    together (several `fync serve`, systemd's fync@ units) never read a half-written key, and all
    keep the first one made."""
    if path.exists():
        return path.read_bytes()
    path.parent.mkdir(parents=True, exist_ok=True)
    content = make()
    draft = path.with_name(f".{path.name}.{os.getpid()}")
    fd = os.open(draft, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(content)
        os.link(draft, path)
    except FileExistsError:
        return path.read_bytes()
    finally:
        draft.unlink(missing_ok=True)
    return content
