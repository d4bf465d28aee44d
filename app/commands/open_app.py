"""``heron open [FILE]``: the desktop app, with a recording open (what the application menu runs)."""

from __future__ import annotations

import argparse
from pathlib import Path

from engine.errors import RequestError
from engine.files import file_problem


def register(commands) -> None:
    parser = commands.add_parser("open", help="open the desktop app, optionally with a recording")
    parser.add_argument("recording", nargs="?", metavar="FILE", help="an audio or video file to open")
    parser.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    from app.gui import run_gui

    if args.recording and (problem := file_problem(Path(args.recording))):
        raise RequestError(f"{args.recording} {problem}: name an audio or video file to open.")
    return run_gui(args.recording and str(Path(args.recording).resolve()))
