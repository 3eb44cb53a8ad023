"""A listener that always raises: the request must still succeed."""
from gancio_like.plugins import hookimpl


@hookimpl
def fync_user_created(event):
    raise RuntimeError("listener exploded")
