"""The `trainer` command: the parser, the list of subcommands and the one place errors become exit codes.

Subcommands live in cli_fit (fit, export, eval, preview) and cli_movie (render, movie, sheet);
`COMMANDS` lists them, so adding one means writing it there and naming it here.

A `FlowreelError` (bad image, bad flag, unwritable output, missing run ...) becomes ONE line
``trainer: error: ...`` on stderr and a non-zero exit, never a traceback. Any other exception is a
bug: one line says so and where its traceback was saved. `--debug` (or FLOWREEL_DEBUG=1) re-raises
instead, for developers. Heavy imports (torch) happen inside the commands so `trainer --help` is instant.
"""

from __future__ import annotations

import argparse
import os
import signal
import sys

from flowreel.addon.core.contract.shapes3d import join_axis_values
from flowreel.addon.core.errors import FlowreelError, UsageError, disk_error, report_bug
from flowreel.trainer.cli import fit as cli_fit
from flowreel.trainer.cli import movie as cli_movie
from flowreel.trainer.cli.args import EXIT_ERROR, EXIT_INTERRUPTED, EXIT_USAGE, Command, Parser
from flowreel.trainer.fit.stopping import FitInterrupted

PROG = "trainer"
COMMANDS: dict[str, Command] = {
    run.command.name: run.command
    for run in (cli_fit.cmd_fit, cli_fit.cmd_export, cli_fit.cmd_eval, cli_fit.cmd_preview,
                cli_movie.cmd_render, cli_movie.cmd_movie, cli_movie.cmd_sheet)
}  # fmt: skip


class _Formatter(argparse.RawDescriptionHelpFormatter):
    """Keeps the examples' layout; shows a default only where the help text asks (%(default)s)."""


def build_parser() -> argparse.ArgumentParser:
    """The `trainer` parser with every subcommand in COMMANDS."""
    parser = Parser(
        prog=PROG,
        description="Flowreel trainer: fit a continuous normalizing flow to an image, export particle trajectories.",
        epilog="Run `trainer COMMAND --help` for a command's options and examples.",
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    from flowreel.trainer import __version__

    parser.add_argument("--version", action="version", version=f"flowreel trainer {__version__}")
    parser.add_argument("--debug", action="store_true", help="show tracebacks (also FLOWREEL_DEBUG=1)")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=Parser)
    for cmd in COMMANDS.values():
        p = sub.add_parser(
            cmd.name,
            help=cmd.help,
            description=cmd.description,
            epilog="examples:\n" + cmd.examples.rstrip(),
            formatter_class=_Formatter,
        )
        cmd.add_arguments(p)
        p.add_argument(
            "--debug", action="store_true", default=argparse.SUPPRESS, help="show tracebacks (also FLOWREEL_DEBUG=1)"
        )
        p.set_defaults(_run=cmd.run)
    return parser


def _err(message: object) -> None:
    text = " ".join(str(message).split())  # exactly one line
    print(f"{PROG}: error: {text}", file=sys.stderr, flush=True)


def main(argv: list[str] | None = None) -> int:
    """Entry point (console script `trainer`); returns the exit code.

    As the command (no `argv` given: the console script, `python -m`), a Ctrl-C after the work has ended,
    while the interpreter shuts down, is ignored: the outcome stands (a finished film is finished), and a late
    KeyboardInterrupt in torch's exit hooks printed a traceback under it."""
    if argv is None:
        try:
            return _main(sys.argv[1:])
        finally:
            signal.signal(signal.SIGINT, signal.SIG_IGN)
    return _main(argv)


def _main(argv: list[str]) -> int:
    argv = list(argv)
    debug = "--debug" in argv or os.environ.get("FLOWREEL_DEBUG", "") not in ("", "0")
    try:
        parser = build_parser()
        try:
            args = parser.parse_args(join_axis_values(argv))  # --front -y, --up -z
        except SystemExit as e:  # --help / --version
            return int(e.code or 0)
        if getattr(args, "_run", None) is None:
            parser.print_help(sys.stderr)
            return EXIT_USAGE
        return int(args._run(args) or 0)
    except UsageError as e:
        if debug:
            raise
        _err(e)
        return EXIT_USAGE
    except KeyboardInterrupt:
        if debug:
            raise
        _err("interrupted")
        return EXIT_INTERRUPTED
    except FitInterrupted as e:
        if debug:
            raise
        _err(f"interrupted at step {e.step}; run the same command with --resume to continue")
        return EXIT_INTERRUPTED
    except FlowreelError as e:
        if debug:
            raise
        _err(e)
        return EXIT_ERROR
    except Exception as e:  # noqa: BLE001 - a bug: one line that says so, the traceback in a file
        if debug:
            raise
        # A full disk or a refused write that no write site named (they all go through core.atomic) is
        # still the environment's problem, not a bug: one line naming the file.
        _err(disk_error(e) or report_bug(e, PROG))
        return EXIT_ERROR

