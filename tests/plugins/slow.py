"""An async listener that takes its time: the response must not wait for it."""
import asyncio

from gancio_like.plugins import hookimpl

DONE: list = []


@hookimpl
async def fync_user_created(event):
    await asyncio.sleep(1.5)
    DONE.append(event.username)
