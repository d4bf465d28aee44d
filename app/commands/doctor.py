"""``heron doctor``: report what Heron needs and how to fix what is missing.

``--self-test`` runs the whole chain instead (``app.self_test``): decode, answer with the tiny
model, speak, detect speech, history; a pass or a failure with its fix for each part.
"""

from __future__ import annotations

import argparse
from collections.abc import Iterable

from app import paths

MARKS = {"ok": "✔", "warn": "!", "fail": "✘"}


def register(commands) -> None:
    parser = commands.add_parser("doctor", help="check this machine for what Heron needs")
    parser.add_argument(
        "--self-test",
        action="store_true",
        configurable=False,
        help="run the whole chain with a tiny built-in model: decode, answer, speak, detect speech, history",
    )
    parser.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    if args.self_test:
        from app.self_test import self_test

        print(
            "Self-test with the tiny built-in model (random weights: the plumbing is tested, not the words)"
        )
        return report(self_test(), summary=True)
    from engine.runtime.doctor import run_checks

    return report(run_checks(paths.models_dir(), paths.cache_dir()))


def report(checks: Iterable, summary: bool = False) -> int:
    """Print each check as it comes, with its fix; 1 when any failed."""
    from engine.runtime.doctor import FAIL

    done = failed = 0
    for check in checks:
        print(f"{MARKS[check.status]} {check.name}: {check.detail}", flush=True)
        if check.fix:
            print(f"    fix: {check.fix}", flush=True)
        done += 1
        failed += check.status == FAIL
    if summary:
        print(f"{done - failed} of {done} parts passed." if failed else f"All {done} parts passed.")
    return 1 if failed else 0
