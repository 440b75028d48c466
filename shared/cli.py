"""The one `frontdesk` command.

Sub-command groups are contributed by each package through the `frontdesk.cli` entry
point group, so this module imports none of them by name.
"""

from __future__ import annotations

import sys
from importlib.metadata import entry_points
from typing import NoReturn

import typer
from typer.exceptions import TyperException

from shared.errors import AppError, InvalidInput

app = typer.Typer(
    name="frontdesk",
    help="Frontdesk: check-in kiosk and back office for medical practices.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    add_completion=False,
)


OUR_PACKAGES = frozenset({"shared", "backoffice", "kiosk", "hardware", "provisioning"})


def _load_groups() -> None:
    """Every installed part's commands. A kiosk has no back office (its extra is not
    installed): that part's groups are left out, not the whole command."""
    for entry in entry_points(group="frontdesk.cli"):
        try:
            register = entry.load()
        except ModuleNotFoundError as exc:
            if (exc.name or "").split(".")[0] in OUR_PACKAGES:
                raise  # our own code is broken: say so
            continue
        register(app)


def _fail(message: str, code: int = 1) -> NoReturn:
    print(f"frontdesk: error: {message}", file=sys.stderr)
    sys.exit(code)


def main() -> None:
    """Run the CLI; any failure is one line on stderr and a non-zero exit, never a traceback."""
    _load_groups()
    try:
        # Not standalone, so errors reach us; an explicit typer.Exit comes back as the code.
        code = app(standalone_mode=False)
    except InvalidInput as exc:
        fields = "; ".join(f"{e.field}: {e.message}" for e in exc.errors)
        _fail(f"{exc.detail} {fields}".strip())
    except AppError as exc:
        _fail(exc.detail)
    except TyperException as exc:  # usage errors, from typer's own copy of click
        if type(exc).__name__ == "NoArgsIsHelpError":
            sys.exit(exc.exit_code)  # the help was printed already
        _fail(exc.format_message(), exc.exit_code)
    except typer.Abort:
        _fail("aborted")
    except KeyboardInterrupt:
        _fail("interrupted", 130)
    except Exception as exc:  # the CLI's outer edge: report, never dump a traceback
        _fail(f"{type(exc).__name__}: {exc}")
    sys.exit(code if isinstance(code, int) else 0)
