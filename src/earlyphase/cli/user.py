"""CLI commands: earlyphase user add | set-role | disable | reset-password | show | list.

Passwords are never arguments (they would sit in shell history and the process list): they are read
from a prompt, or from the first line of standard input when it is not a terminal.
"""

from __future__ import annotations

import sys

import typer

from earlyphase.cli.common import FORMAT_OPTION, OutputFormat, emit

app = typer.Typer(help="Manage users: passwords, second factor, roles per site (admins only).", no_args_is_help=True)

DB_OPTION = typer.Option(..., "--db", envvar="EARLYPHASE_DB",
                         help="Database: a SQLite file path or a postgresql+psycopg:// URL (or set EARLYPHASE_DB).")
ACTOR_OPTION = typer.Option(None, "--user", help="Who makes the change (an admin; audited); default: login name.")


def _actor(user: str | None) -> str:
    from earlyphase.cli.trial import _default_user

    return user or _default_user()


def _engine(db: str):
    from earlyphase.records import make_engine, migrate

    engine = make_engine(db, must_exist=True)
    migrate(engine)  # a database made before accounts existed gets their tables (revision 0005)
    return engine


def _read_password() -> str:
    """From a prompt (asked twice), or the first line of a piped standard input."""
    if not sys.stdin.isatty():
        return sys.stdin.readline().rstrip("\r\n")
    import getpass

    first = getpass.getpass("New password: ")
    if getpass.getpass("Again: ") != first:
        from earlyphase.errors import InputError

        raise InputError.single("password", "(hidden)", "password-confirmed", "the two passwords differ; try again")
    return first


@app.command("add")
def add(
    username: str = typer.Argument(..., help="The new user's name (letters, digits, '.', '_', '-')."),
    role: list[str] = typer.Option([], "--role", help="ROLE@SITE (a site code, or ALL); repeat for more."),
    full_name: str = typer.Option(None, "--full-name", help="The person's name, as shown on signatures."),
    totp: bool = typer.Option(False, "--totp", help="Make a TOTP second factor (always made for signing roles)."),
    db: str = DB_OPTION,
    user: str = ACTOR_OPTION,
    fmt: OutputFormat = FORMAT_OPTION,
) -> None:
    """Add a user with a password (prompted, or read from stdin) and at least one role at a site."""
    from earlyphase.access import add_user
    from earlyphase.access.accounts import check_username, parse_grant

    check_username(username)  # refused before asking for a password
    for r in role:
        parse_grant(r)
    password = _read_password()
    engine = _engine(db)
    try:
        account = add_user(engine, username, password, roles=role, actor=_actor(user), full_name=full_name,
                           with_totp=totp)
    finally:
        engine.dispose()
    emit(account, fmt)


@app.command("set-role")
def set_role_command(
    username: str = typer.Argument(..., help="The user."),
    role: str = typer.Argument(..., help="ROLE@SITE (a site code, or ALL)."),
    revoke: bool = typer.Option(False, "--revoke", help="Take the role away instead of granting it."),
    db: str = DB_OPTION,
    user: str = ACTOR_OPTION,
    fmt: OutputFormat = FORMAT_OPTION,
) -> None:
    """Grant a role at a site (or with --revoke take it away)."""
    from earlyphase.access import set_role

    engine = _engine(db)
    try:
        account = set_role(engine, username, role, actor=_actor(user), revoke=revoke)
    finally:
        engine.dispose()
    emit(account, fmt)


@app.command("disable")
def disable(
    username: str = typer.Argument(..., help="The user."),
    db: str = DB_OPTION,
    user: str = ACTOR_OPTION,
    fmt: OutputFormat = FORMAT_OPTION,
) -> None:
    """Disable a user: no more logins, open web sessions end; what they wrote stays theirs."""
    from earlyphase.access import disable_user

    engine = _engine(db)
    try:
        account = disable_user(engine, username, actor=_actor(user))
    finally:
        engine.dispose()
    emit(account, fmt)


@app.command("reset-password")
def reset_password_command(
    username: str = typer.Argument(..., help="The user."),
    new_totp: bool = typer.Option(False, "--new-totp", help="Also make a new TOTP secret (a lost phone)."),
    db: str = DB_OPTION,
    user: str = ACTOR_OPTION,
    fmt: OutputFormat = FORMAT_OPTION,
) -> None:
    """Set a new password (prompted, or read from stdin); clears a lockout."""
    from earlyphase.access import reset_password

    password = _read_password()
    engine = _engine(db)
    try:
        account = reset_password(engine, username, password, actor=_actor(user), new_totp=new_totp)
    finally:
        engine.dispose()
    emit(account, fmt)


@app.command("show")
def show(
    username: str = typer.Argument(..., help="The user."),
    db: str = DB_OPTION,
    fmt: OutputFormat = FORMAT_OPTION,
) -> None:
    """Show a user's status and roles (never a secret)."""
    from earlyphase.access import show_user

    engine = _engine(db)
    try:
        account = show_user(engine, username)
    finally:
        engine.dispose()
    emit(account, fmt)


class _Listing:
    """Every account, printed one per line or as JSON (never a secret)."""

    def __init__(self, accounts):
        self.accounts = accounts

    def to_dict(self):
        return {"users": [a.to_dict() for a in self.accounts]}

    def summary(self) -> str:
        return "\n".join(a.summary() for a in self.accounts) or "no users yet"


@app.command("list")
def list_command(
    db: str = DB_OPTION,
    fmt: OutputFormat = FORMAT_OPTION,
) -> None:
    """List every user: status, roles per site, password and second factor present."""
    from earlyphase.access.accounts import list_users

    engine = _engine(db)
    try:
        accounts = list_users(engine)
    finally:
        engine.dispose()
    emit(_Listing(accounts), fmt)
