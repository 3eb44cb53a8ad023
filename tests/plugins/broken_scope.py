"""Declares a scope outside its own name: must stop startup."""
from gancio_like.plugins import hookimpl


@hookimpl
def fync_scopes():
    return {"event:delete": "Delete anyone's events"}
