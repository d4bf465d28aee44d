"""The ``heron`` command: a thin layer over the engine's library API.

Every user-facing failure prints one line on stderr and exits with status 2; ``--verbose``
(before or after the command) adds the traceback.
"""

from __future__ import annotations

import argparse
import logging
import os
import sys
import traceback

from app.cli_config import ConfigurableParser, apply_config, config_path
from app.commands import EXIT_INTERRUPTED, EXIT_USER_ERROR
from engine import __version__
from engine.errors import HeronError

EXIT_BROKEN_PIPE = 141  # what a shell reports for a command killed by SIGPIPE, as `cat` is


class _Parser(ConfigurableParser):
    """argparse, but its errors are one line like every other failure."""

    commands: dict[str, ConfigurableParser]  # by name; set on heron's own parser by build_parser

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        # On every parser, so that it may follow the command too; SUPPRESS: a subcommand that
        # does not see it leaves the value the main parser found.
        self.add_argument(
            "--verbose",
            "-v",
            action="store_true",
            default=argparse.SUPPRESS,
            configurable=False,
            help="show details and tracebacks",
        )

    def error(self, message: str):
        self.exit(EXIT_USER_ERROR, f"heron: {message} (see `{self.prog} --help`)\n")


class _Commands:
    """What the command modules register with: adds their parsers and keeps them by name
    (argparse's own map is private)."""

    def __init__(self, subparsers):
        self.subparsers, self.parsers = subparsers, {}

    def add_parser(self, name: str, **kwargs) -> ConfigurableParser:
        self.parsers[name] = self.subparsers.add_parser(name, **kwargs)
        return self.parsers[name]


def build_parser() -> _Parser:
    from app.commands import ask, chat, doctor, history, models, open_app, serve, train

    parser = _Parser(
        prog="heron",
        description="Heron: a voice assistant that truly hears audio.",
        epilog=f"Defaults for any command's options can be set in {config_path()} (see the README).",
    )
    parser.add_argument("--version", action="version", version=f"heron {__version__}")
    desktop = parser.add_mutually_exclusive_group()
    desktop.add_argument(
        "--install-desktop",
        action="store_true",
        help="add Heron to your application menu and audio files' apps",
    )
    desktop.add_argument(
        "--uninstall-desktop", action="store_true", help="remove what --install-desktop added"
    )
    parser.set_defaults(verbose=False)
    commands = _Commands(parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=_Parser))
    for module in (ask, chat, open_app, history, models, train, serve, doctor):
        module.register(commands)
    parser.commands = commands.parsers
    return parser


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    try:
        apply_config(_commands(parser), config_path())
    except HeronError as exc:
        return _fail(exc.message, verbose=False)
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO if args.verbose else logging.WARNING, format="%(message)s")
    try:
        if args.install_desktop or args.uninstall_desktop:
            from app.desktop_entry import run as desktop_entry

            return desktop_entry(install_it=args.install_desktop)
        if args.command is None:
            from app.gui import run_gui

            return run_gui()
        status = args.run(args)
        sys.stdout.flush()  # here, where a reader that has gone can still be handled
        return status
    except BrokenPipeError:
        return _reader_gone()
    except HeronError as exc:
        return _fail(exc.message, args.verbose)
    except KeyboardInterrupt:
        print("heron: interrupted", file=sys.stderr)
        return EXIT_INTERRUPTED
    except Exception as exc:  # a bug: still one line for the user, details with --verbose
        detail = " ".join(f"{type(exc).__name__}: {exc}".split())
        return _fail(f"unexpected error ({detail}). Run again with --verbose for details.", args.verbose)


def _commands(parser: _Parser) -> dict[str, ConfigurableParser]:
    """The commands a config.toml may set defaults for (``train`` reads a settings file of its own)."""
    return {name: command for name, command in parser.commands.items() if name != "train"}


def _reader_gone() -> int:
    """Standard output's reader has gone (``heron history list | head -1``): stop quietly."""
    # Python flushes stdout again at exit and would complain about the same pipe.
    os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
    return EXIT_BROKEN_PIPE


def _fail(message: str, verbose: bool) -> int:
    if verbose:
        traceback.print_exc()
    print(f"heron: {message}", file=sys.stderr)
    return EXIT_USER_ERROR


def entry_point() -> None:
    sys.exit(main())


if __name__ == "__main__":
    entry_point()
