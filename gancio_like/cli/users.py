"""`fync user add|list|passwd`: accounts, managed from the server's shell (SPEC §1)."""
from __future__ import annotations

import getpass
import sys
from argparse import ArgumentParser

from ..config import Config
from ..services.accounts import Passwords, check_username, create_user, set_password
from ..storage.users import get_user_by_name, list_users
from . import CommandError, config_args, version_arg
from .database import migrated


def user_parser(p: ArgumentParser) -> None:
    p.description = "Manage accounts."
    version_arg(p)
    actions = p.add_subparsers(dest="action", required=True, metavar="ACTION")
    user_add_parser(actions.add_parser("add", help="create an account", description="Create an account."))
    user_list_parser(actions.add_parser("list", help="list accounts", description="List accounts."))
    user_passwd_parser(actions.add_parser("passwd", help="set an account's password",
                                          description="Set an account's password (ends its sessions and app grants)."))


def user_add_parser(p: ArgumentParser) -> None:
    config_args(p)
    p.add_argument("name")
    p.add_argument("--admin", action="store_true", help="make the account an admin")
    p.add_argument("--password-stdin", action="store_true", help="read the password from standard input")
    p.set_defaults(run=user_add)


async def user_add(cfg: Config, args) -> int:
    check_username(args.name)  # before asking for a password
    password = read_password(args.password_stdin)
    async with migrated(cfg) as db:
        await create_user(db, Passwords(), args.name, password, admin=args.admin)
    print(f"created user {args.name}")
    return 0


def user_list_parser(p: ArgumentParser) -> None:
    config_args(p)
    p.set_defaults(run=user_list)


async def user_list(cfg: Config, args) -> int:
    async with migrated(cfg) as db:
        for user in await list_users(db):
            print(f"{user.username}\t{'admin' if user.is_admin else 'user'}\t{user.display_name}")
    return 0


def user_passwd_parser(p: ArgumentParser) -> None:
    config_args(p)
    p.add_argument("name")
    p.add_argument("--password-stdin", action="store_true", help="read the password from standard input")
    p.set_defaults(run=user_passwd)


async def user_passwd(cfg: Config, args) -> int:
    password = read_password(args.password_stdin)
    async with migrated(cfg) as db:
        user = await get_user_by_name(db, args.name)
        if user is None:
            raise CommandError(f"no user named {args.name!r}; see `fync user list`")
        await set_password(db, Passwords(), user.id, password)
    print(f"password changed for {args.name}; their sessions and app grants ended")
    return 0


def read_password(from_stdin: bool) -> str:
    if from_stdin:
        return sys.stdin.readline().rstrip("\r\n")
    first = getpass.getpass("Password: ")
    if getpass.getpass("Again: ") != first:
        raise CommandError("the two passwords differ; nothing was changed")
    return first


PARSERS = {"user": user_parser}
