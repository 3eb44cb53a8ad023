"""`fync client list|approve|disable|delete`: moderating registered apps by client_id (SPEC §1)."""
from __future__ import annotations

from argparse import ArgumentParser

from ..config import Config
from ..services import moderation
from ..storage.clients import list_clients
from ..storage.users import list_users
from . import config_args, version_arg
from .database import migrated

ACTIONS = {"approve": "let an app waiting for approval (or disabled) be used",
           "disable": "disable an app and revoke every token it holds",
           "delete": "delete an app with its tokens and consents"}


def client_parser(p: ArgumentParser) -> None:
    p.description = "Moderate registered OAuth clients (apps) by client_id."
    version_arg(p)
    actions = p.add_subparsers(dest="action", required=True, metavar="ACTION")
    q = actions.add_parser("list", help="list registered apps", description="List every registered app with its status and owner.")
    config_args(q)
    q.set_defaults(run=client_list)
    for action, text in ACTIONS.items():
        q = actions.add_parser(action, help=text, description=text[0].upper() + text[1:] + ".")
        config_args(q)
        q.add_argument("client_id", metavar="ID")
        q.set_defaults(run=client_moderate)


async def client_list(cfg: Config, args) -> int:
    async with migrated(cfg) as db:
        owners = {u.id: u.username for u in await list_users(db)}
        for c in await list_clients(db):
            print(f"{c.client_id}\t{c.status}\t{c.source}\t{owners.get(c.owner_id, '-')}\t{c.name}")
    return 0


async def client_moderate(cfg: Config, args) -> int:
    async with migrated(cfg) as db:
        if args.action == "approve":
            await moderation.approve(db, args.client_id)
            print(f"approved {args.client_id}")
        elif args.action == "disable":
            ended = await moderation.disable(db, args.client_id)
            print(f"disabled {args.client_id}; revoked {ended} grant(s)")
        else:
            await moderation.delete(db, args.client_id)
            print(f"deleted {args.client_id}")
    return 0


PARSERS = {"client": client_parser}
