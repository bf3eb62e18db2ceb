"""Shared pieces of the CLI: output format, printing results, and the door itself.

:class:`EarlyphaseGroup` (the root group, see its docstring) holds every CLI-wide convention: plain
help, ``EARLYPHASE_DB`` for ``--db``, exit codes 0 / 1 / 2, JSON errors with ``--format json``.
A new command gets them by being registered under the root app; it only has to raise
``earlyphase.errors`` exceptions for bad input and ``typer.BadParameter`` for a bad combination
of options.
"""

from __future__ import annotations

import json
import sys
from enum import Enum
from typing import Any

import typer
from typer.core import TyperGroup

from earlyphase.errors import EarlyPhaseError, InputError
from earlyphase.jsonable import to_jsonable

EXIT_OK = 0
EXIT_INPUT = 1
EXIT_USAGE = 2


class OutputFormat(str, Enum):
    table = "table"
    json = "json"


FORMAT_OPTION = typer.Option(OutputFormat.table, "--format", help="table for people, json for programs.")


def emit_json(data: Any) -> None:
    """Print ``data`` as JSON on stdout (the contract programs read)."""
    typer.echo(json.dumps(to_jsonable(data), indent=2, sort_keys=False))


def emit(result: Any, fmt: OutputFormat, text: str | None = None) -> None:
    """Print a result object: ``to_dict()`` as JSON, or its text (``summary()``/``str``)."""
    if fmt == OutputFormat.json:
        emit_json(result.to_dict() if hasattr(result, "to_dict") else result)
    else:
        if text is None:
            text = result.summary() if hasattr(result, "summary") else str(result)
        typer.echo(text)


DB_ENVVAR = "EARLYPHASE_DB"


def run_app(app: typer.Typer, argv: list[str] | None = None) -> int:
    """Run the CLI with ``argv`` and return its exit code (0 ok, 1 input, 2 usage); never raises."""
    import typer.main

    command = typer.main.get_command(app)
    args = list(sys.argv[1:] if argv is None else argv)
    if isinstance(command, EarlyphaseGroup):
        return command.run(args, prog_name="earlyphase")
    return _run(command, args, "earlyphase")


class EarlyphaseGroup(TyperGroup):
    """The root command group: every CLI-wide convention lives here, so a new command gets it for free.

    * help in plain text (no Rich panels: no cut option names, no ``<bool>`` placeholders, no Rich
      import); every option that takes a value shows a plain metavar (TEXT, NUMBER, INTEGER, PATH,
      or the choices);
    * ``--db`` falls back to the ``EARLYPHASE_DB`` environment variable on every command;
    * exit codes: 0 ok, 1 a problem with the input (our ``EarlyPhaseError``, a file that cannot be
      read), 2 a usage error (unknown or missing option, bad option value), 130 interrupted; never
      a traceback (``EARLYPHASE_DEBUG=1`` shows it for an internal error);
    * with ``--format json`` an error is also a JSON object on stdout (``error``, ``exit_code``,
      ``message``, ``problems``), besides its line on stderr.
    """

    _polished = False

    def main(self, args=None, prog_name=None, complete_var=None, standalone_mode=True, **extra):  # noqa: D102
        code = self.run(list(sys.argv[1:] if args is None else args), prog_name or "earlyphase", **extra)
        if standalone_mode:
            sys.exit(code)
        return code

    def run(self, args: list[str], prog_name: str = "earlyphase", **extra: Any) -> int:
        if not self._polished:
            polish_commands(self)
            self._polished = True
        debug = DEBUG_FLAG in args
        args = [a for a in args if a != DEBUG_FLAG] if debug else args
        nul = next((a for a in args if "\x00" in a), None)
        if nul is not None:
            # No shell can pass one, but a program calling us can; every path and value would choke on it.
            message = f"the argument {nul!r} holds a NUL character; remove it"
            typer.echo(f"Error: {message}", err=True)
            if _wants_json(args):
                _json_error("UsageError", message, EXIT_USAGE)
            return EXIT_USAGE
        return _run(self, args, prog_name, debug=debug, **extra)


def _run(command: Any, args: list[str], prog_name: str, debug: bool = False, **extra: Any) -> int:
    import os

    debug = debug or bool(os.environ.get("EARLYPHASE_DEBUG"))
    wants_json = _wants_json(args)
    try:
        result = TyperGroup.main(command, args=args, prog_name=prog_name, standalone_mode=False, **extra) \
            if isinstance(command, TyperGroup) else command.main(args=args, prog_name=prog_name, standalone_mode=False, **extra)
        # With standalone_mode=False click returns typer.Exit's code instead of raising it.
        if isinstance(result, int) and not isinstance(result, bool):
            return result
        return EXIT_OK
    except EarlyPhaseError as exc:
        _report_error(exc, wants_json)
        return EXIT_INPUT
    except (SystemExit, typer.Exit) as exc:
        code = getattr(exc, "exit_code", getattr(exc, "code", 0))
        return code if isinstance(code, int) else (0 if code is None else 1)
    except (typer.Abort, EOFError):
        typer.echo("Aborted.", err=True)
        return EXIT_INPUT
    except KeyboardInterrupt:
        typer.echo("Interrupted.", err=True)
        return 130
    except Exception as exc:
        usage, other = _click_errors()
        if isinstance(exc, usage):
            exc.show()
            if wants_json:
                _json_error("UsageError", exc.format_message(), EXIT_USAGE)
            return EXIT_USAGE
        if isinstance(exc, other):
            exc.show()
            if wants_json:
                _json_error(type(exc).__name__, exc.format_message(), exc.exit_code)
            return exc.exit_code
        if debug:
            raise
        if isinstance(exc, (OSError, UnicodeError, MemoryError)):
            message = _system_error_message(exc)
            typer.echo(f"error: {message}", err=True)
            if wants_json:
                _json_error(type(exc).__name__, message, EXIT_INPUT)
            return EXIT_INPUT
        first = " ".join(str(exc).split())[:300]
        message = (f"internal error ({type(exc).__name__}: {first}); this is a bug in earlyphase. "
                   f"Run again with {DEBUG_FLAG} to see where.")
        typer.echo(f"error: {message}", err=True)
        if wants_json:
            _json_error("InternalError", message, EXIT_INPUT)
        return EXIT_INPUT


DEBUG_FLAG = "--debug"  # anywhere on the command line: show the traceback of an internal error


def _system_error_message(exc: BaseException) -> str:
    """One line for an error of the operating system: the path, what went wrong, and what to do."""
    import errno

    if isinstance(exc, MemoryError):
        return ("not enough memory for this request; ask for less (fewer trials, patients or permutations: the "
                "limits are in docs/conventions.md)")
    if isinstance(exc, UnicodeError):
        return f"text that is not valid in its encoding ({exc}); save the file as UTF-8"
    path = getattr(exc, "filename", None)
    reason = getattr(exc, "strerror", None) or " ".join(str(exc).split())
    hints = {
        errno.ENOENT: "check the path: the folder must exist",
        errno.EACCES: "you may not read or write there: choose a path you own",
        errno.EPERM: "you may not read or write there: choose a path you own",
        errno.EROFS: "that file system is read-only: choose another path",
        errno.EEXIST: "a file of that name is in the way: choose another path",
        errno.ENOTDIR: "a part of the path is a file, not a folder",
        errno.EISDIR: "that is a folder: give a file name",
        errno.ENOSPC: "the disk is full",
    }
    hint = hints.get(getattr(exc, "errno", None) or -1)
    where = f"{path}: " if path else ""
    return f"{where}{reason}" + (f" ({hint})" if hint else "")


def _click_module() -> Any:
    """The click typer runs on: recent typer vendors its own (typer._click); older typer uses click."""
    try:
        from typer import _click as vendored
    except ImportError:  # pragma: no cover - older typer
        import click as vendored
    return vendored


def _click_errors() -> tuple[tuple[type, ...], tuple[type, ...]]:
    click = _click_module()
    usage: tuple[type, ...] = (click.exceptions.UsageError,)
    other: tuple[type, ...] = (click.exceptions.ClickException,)
    import sys as _sys

    plain = _sys.modules.get("click")  # only if something else imported it: accept its errors too
    if plain is not None and plain is not click:
        usage += (plain.exceptions.UsageError,)
        other += (plain.exceptions.ClickException,)
    return usage, other


def _wants_json(args: list[str]) -> bool:
    for i, a in enumerate(args):
        if a == "--format=json" or (a == "--format" and i + 1 < len(args) and args[i + 1] == "json"):
            return True
    return False


def _json_error(kind: str, message: str, code: int, problems: list | None = None) -> None:
    payload = {"error": kind, "exit_code": code, "message": message}
    if problems is not None:
        payload["problems"] = problems
    typer.echo(json.dumps(to_jsonable(payload), indent=2))


def _report_error(exc: EarlyPhaseError, wants_json: bool = False) -> None:
    typer.echo(f"error: {exc}", err=True)
    if wants_json:
        if isinstance(exc, InputError):
            d = exc.to_dict()
            _json_error(d["error"], d["summary"], EXIT_INPUT, d["problems"])
        else:
            _json_error(type(exc).__name__, str(exc), EXIT_INPUT)


# ----------------------------------------------------------------------------------- help polish

_METAVARS = {"str": "TEXT", "float": "NUMBER", "int": "INTEGER", "Path": "PATH", "path": "PATH", "datetime": "DATE"}


def polish_commands(root: Any) -> None:
    """Walk every command under ``root`` once: plain help, metavars, EARLYPHASE_DB for --db."""
    stack = [root]
    while stack:
        cmd = stack.pop()
        if hasattr(cmd, "rich_markup_mode"):
            cmd.rich_markup_mode = None
        if cmd is not root and getattr(cmd, "short_help", None) is None and getattr(cmd, "help", None):
            # the whole first paragraph, wrapped, instead of click's 45-character cut with "..."
            cmd.short_help = " ".join(cmd.help.strip().split("\n\n")[0].split())
        for param in getattr(cmd, "params", []):
            _polish_param(param)
        commands = getattr(cmd, "commands", None)
        if commands:
            stack.extend(commands.values())


def _polish_param(param: Any) -> None:
    _bound_param(param)
    is_option = getattr(param, "param_type_name", "") == "option"
    if is_option and "--db" in getattr(param, "opts", []) and getattr(param, "envvar", None) is None:
        param.envvar = DB_ENVVAR
        param.show_envvar = True
    if param.metavar is not None:
        if not is_option:
            param.display_type_rich = lambda ctx=None: None  # an argument's metavar says it all
        return
    if is_option and (getattr(param, "is_flag", False) or getattr(param, "count", False)):
        return
    if not is_option:
        param.metavar = (param.name or "ARG").upper()
        param.display_type_rich = lambda ctx=None: None
        return
    label = None
    try:
        shown = param.display_type(None)  # e.g. "<str>", "<table|json>"
    except Exception:  # pragma: no cover - a type typer cannot describe
        shown = None
    if shown:
        inner = shown.strip("<>")
        label = inner if "|" in inner else _METAVARS.get(inner, inner.upper())
    if label:
        param.metavar = label


def _bound_param(param: Any) -> None:
    """Hold every option to its stated bounds before the command runs (a usage error, exit 2, names the bound).

    Integer options listed in ``earlyphase.limits.OPTION_BOUNDS`` get their range; every number must be
    finite. Done by wrapping the option's callback, which runs after the value is converted, so it works
    whatever type machinery the CLI library uses.
    """
    from earlyphase.limits import OPTION_BOUNDS

    if getattr(param, "_earlyphase_bounded", False):
        return
    names = [o for o in getattr(param, "opts", []) if o.startswith("--")]
    bound = next((OPTION_BOUNDS[n] for n in names if n in OPTION_BOUNDS), None)
    original = param.callback

    def check(ctx, this, value):
        _check_bound(this, value, bound)
        return original(ctx, this, value) if original is not None else value

    param.callback = check
    param._earlyphase_bounded = True
    if bound is not None and getattr(param, "help", None) and "[" not in param.help:
        param.help = f"{param.help} [{bound[0]} to {bound[1]}]"


def _check_bound(param: Any, value: Any, bound: tuple[int, int] | None) -> None:
    import math

    values = value if isinstance(value, (list, tuple)) else [value]
    for v in values:
        if isinstance(v, bool) or v is None:
            continue
        if isinstance(v, float) and not math.isfinite(v):
            raise _click_module().exceptions.BadParameter(f"{v!r} is not a finite number", param=param)
        if bound is not None and isinstance(v, (int, float)) and not bound[0] <= v <= bound[1]:
            raise _click_module().exceptions.BadParameter(f"{v!r} is outside the range {bound[0]} to {bound[1]}", param=param)


def db_from_environment(ctx: Any, name: str = "db") -> bool:
    """Whether option ``name`` got its value from the environment (EARLYPHASE_DB), not the command line."""
    source = ctx.get_parameter_source(name)
    return source is not None and getattr(source, "name", "") == "ENVIRONMENT"
