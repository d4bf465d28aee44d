"""``heron models list|download|path``: the AF-Next checkpoints on this machine."""

from __future__ import annotations

import argparse
import sys
import time

from app import paths

GiB = 1024**3


def register(commands) -> None:
    parser = commands.add_parser("models", help="list, download or locate models")
    actions = parser.add_subparsers(dest="action", metavar="ACTION", required=True)
    actions.add_parser("list", help="the models Heron knows and which are installed").set_defaults(
        run=run_list
    )
    download = actions.add_parser("download", help="download a model (resumes if interrupted)")
    download.add_argument("name", help="instruct, think or captioner")
    download.set_defaults(run=run_download)
    where = actions.add_parser("path", help="print the folder of an installed model")
    where.add_argument("name", help="instruct, think, captioner or a folder")
    where.set_defaults(run=run_path)


def run_list(args: argparse.Namespace) -> int:
    from engine.model.registry import MODELS, installed_models

    installed = {m.name: m for m in installed_models(paths.models_dir())}
    for spec in MODELS.values():
        found = installed.pop(spec.name, None)
        if found and found.complete:
            state = f"installed, {found.size_bytes / GiB:.1f} GiB"
        elif found:
            state = f"partly downloaded ({found.size_bytes / GiB:.1f} GiB): heron models download {spec.name}"
        else:
            state = f"not downloaded, ~{spec.size_gb} GB"
        print(f"{spec.name:<10} {spec.title:<18} {state}")
        print(f"{'':<10} {spec.summary}")
        print(f"{'':<10} licence: {spec.license} ({spec.url})")
    for other in installed.values():
        print(f"{other.name:<10} {'local folder':<18} {other.size_bytes / GiB:.1f} GiB  {other.path}")
    print(f"\nModels folder: {paths.models_dir()}")
    return 0


def run_download(args: argparse.Namespace) -> int:
    from engine.model.download import download_model
    from engine.model.registry import get_spec

    spec = get_spec(args.name)
    print(f"{spec.title}: {spec.license}", file=sys.stderr)
    folder = download_model(spec, paths.models_dir(), on_progress=ProgressBar())
    print(file=sys.stderr)
    print(folder)
    return 0


def run_path(args: argparse.Namespace) -> int:
    from engine.model.registry import resolve_model

    print(resolve_model(args.name, paths.models_dir()).path)
    return 0


class ProgressBar:
    """One updating line on stderr: share, size, speed and time left."""

    def __init__(self):
        self.started = time.monotonic()
        self.first_done: int | None = None

    def __call__(self, done: int, total: int, filename: str = "") -> None:
        if self.first_done is None:
            self.first_done = done  # bytes already there from an interrupted download
        elapsed = max(time.monotonic() - self.started, 1e-6)
        speed = (done - self.first_done) / elapsed
        left = (total - done) / speed if speed > 0 else None
        eta = f", {left / 60:.0f} min left" if left is not None else ""
        share = 100 * done / total if total else 100.0
        sys.stderr.write(
            f"\r\033[K{share:5.1f}%  {done / GiB:.2f}/{total / GiB:.2f} GiB  "
            f"{speed / 1024**2:.1f} MB/s{eta}  {filename}"
        )
        sys.stderr.flush()
