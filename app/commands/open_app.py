"""``heron open [FILE]``: the desktop app, with a recording open (what the application menu runs)."""

from __future__ import annotations

import argparse
from pathlib import Path

from engine.errors import RequestError


def register(commands) -> None:
    parser = commands.add_parser("open", help="open the desktop app, optionally with a recording")
    parser.add_argument("recording", nargs="?", metavar="FILE", help="an audio or video file to open")
    parser.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    from app.gui import run_gui

    if args.recording and not Path(args.recording).is_file():
        raise RequestError(f"{args.recording} is not a file: name an audio or video file to open.")
    return run_gui(args.recording and str(Path(args.recording).resolve()))
