"""The one place Fync reads the time, so tests can move it (expiry, throttling)."""
import time


def now() -> int:
    """Unix seconds."""
    return int(time.time())
