"""``emberwatch users``: accounts from the command line (add, list, role, password, token, delete).

Passwords come from ``EMBERWATCH_PASSWORD`` when set (for scripts), else from a hidden prompt.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated

import typer

from cli.support import ConfigOpt, DataDirOpt, database, load_or_exit
from store.accounts import AuthError, AuthStore
from store.roles import Role

users_app = typer.Typer(help="User accounts: viewer < operator < admin.", no_args_is_help=True)

PASSWORD_ENV = "EMBERWATCH_PASSWORD"
NameArg = Annotated[str, typer.Argument(help="User name.")]


@contextmanager
def _store(config: Path | None, data_dir: Path | None) -> Iterator[AuthStore]:
    settings = load_or_exit(config, data_dir=data_dir)
    with database(settings) as engine:
        try:
            yield AuthStore(engine, token_lifetime_s=settings.auth.token_lifetime_s)
        except AuthError as exc:
            typer.echo(f"error: {exc}", err=True)
            raise typer.Exit(1) from exc


def _password(confirm: bool = True) -> str:
    from_env = os.environ.get(PASSWORD_ENV)
    if from_env:
        return from_env
    value: str = typer.prompt("Password", hide_input=True, confirmation_prompt=confirm)
    return value


@users_app.command("add", short_help="Create an account.")
def add(
    name: NameArg,
    role: Annotated[Role, typer.Option(help="viewer, operator or admin.")] = Role.VIEWER,
    no_password: Annotated[
        bool, typer.Option("--no-password", help="Token-only account (no console login).")
    ] = False,
    config: ConfigOpt = None,
    data_dir: DataDirOpt = None,
) -> None:
    """Create an account (password from $EMBERWATCH_PASSWORD or a prompt)."""
    password = None if no_password else _password()
    with _store(config, data_dir) as store:
        user = store.add_user(name, role, password)
    typer.echo(f"user {user.name} created with role {user.role.value}")


@users_app.command("list", short_help="List accounts.")
def list_users(config: ConfigOpt = None, data_dir: DataDirOpt = None) -> None:
    """List accounts: name, role, whether they can log in, API tokens, creation date."""
    with _store(config, data_dir) as store:
        users = store.list_users()
    if not users:
        typer.echo("no users")
    for u in users:
        created = datetime.fromtimestamp(u.created_at, tz=UTC).strftime("%Y-%m-%d")
        login = "password" if u.has_password else "token-only"
        typer.echo(f"{u.name:<24} {u.role.value:<9} {login:<10} tokens={u.tokens}  {created}")


@users_app.command("token", short_help="Print a new API token for NAME (shown once).")
def token(
    name: NameArg,
    label: Annotated[str, typer.Option(help="What the token is for.")] = "",
    config: ConfigOpt = None,
    data_dir: DataDirOpt = None,
) -> None:
    """Print a new API token for NAME (shown once; use as 'Authorization: Bearer <token>').
    It stops working after auth.token_days (90 by default) or when NAME's password changes."""
    with _store(config, data_dir) as store:
        typer.echo(store.issue_token(name, label))


@users_app.command("password", short_help="Set NAME's password.")
def password(name: NameArg, config: ConfigOpt = None, data_dir: DataDirOpt = None) -> None:
    """Set NAME's password (ends their console sessions and revokes their API tokens)."""
    new = _password()
    with _store(config, data_dir) as store:
        store.update_user(name, password=new)
    typer.echo(f"password of {name} changed")


@users_app.command("role")
def role(
    name: NameArg,
    new_role: Annotated[Role, typer.Argument(metavar="ROLE", help="viewer, operator or admin.")],
    config: ConfigOpt = None,
    data_dir: DataDirOpt = None,
) -> None:
    """Change NAME's role."""
    with _store(config, data_dir) as store:
        user = store.update_user(name, role=new_role)
    typer.echo(f"{user.name} is now {user.role.value}")


@users_app.command("delete")
def delete(name: NameArg, config: ConfigOpt = None, data_dir: DataDirOpt = None) -> None:
    """Delete NAME with their tokens and sessions."""
    with _store(config, data_dir) as store:
        store.delete_user(name)
    typer.echo(f"user {name} deleted")
