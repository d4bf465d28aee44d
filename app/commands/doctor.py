"""``heron doctor``: report what Heron needs and how to fix what is missing."""

from __future__ import annotations

import argparse

from app import paths

MARKS = {"ok": "✔", "warn": "!", "fail": "✘"}


def register(commands) -> None:
    parser = commands.add_parser("doctor", help="check this machine for what Heron needs")
    parser.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    from engine.runtime.doctor import FAIL, run_checks

    failed = False
    for check in run_checks(paths.models_dir()):
        print(f"{MARKS[check.status]} {check.name}: {check.detail}")
        if check.fix:
            print(f"    fix: {check.fix}")
        failed |= check.status == FAIL
    return 1 if failed else 0
