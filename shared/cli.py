"""The one `frontdesk` command.

Sub-command groups are contributed by each package through the `frontdesk.cli` entry
point group, so this module imports none of them by name.
"""

from __future__ import annotations

import sys
from importlib.metadata import entry_points

import typer

from shared.errors import AppError

app = typer.Typer(
    name="frontdesk",
    help="Frontdesk: check-in kiosk and back office for medical practices.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    add_completion=False,
)


def _load_groups() -> None:
    for entry in entry_points(group="frontdesk.cli"):
        entry.load()(app)


def main() -> None:
    """Run the CLI; any failure is one line on stderr and a non-zero exit, never a traceback."""
    _load_groups()
    try:
        app(standalone_mode=False)
    except AppError as exc:
        print(f"frontdesk: error: {exc.detail}", file=sys.stderr)
        sys.exit(1)
    except typer.Exit as exc:
        sys.exit(exc.exit_code)
    except typer.Abort:
        print("frontdesk: aborted", file=sys.stderr)
        sys.exit(1)
    except Exception as exc:  # the CLI's outer edge: report, never dump a traceback
        import click

        if isinstance(exc, click.ClickException):
            print(f"frontdesk: error: {exc.format_message()}", file=sys.stderr)
            sys.exit(exc.exit_code)
        print(f"frontdesk: error: {type(exc).__name__}: {exc}", file=sys.stderr)
        sys.exit(1)
    sys.exit(0)
