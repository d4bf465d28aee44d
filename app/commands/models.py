"""``heron models list|download|path``: the AF-Next checkpoints and the voices on this machine."""

from __future__ import annotations

import argparse
import sys
import time

from app import paths
from engine.errors import RequestError

GiB = 1024**3


def register(commands) -> None:
    parser = commands.add_parser("models", help="list, download or locate models")
    actions = parser.add_subparsers(dest="action", metavar="ACTION", required=True)
    actions.add_parser("list", help="the models Heron knows and which are installed").set_defaults(
        run=run_list
    )
    download = actions.add_parser("download", help="download a model (resumes if interrupted)")
    download.add_argument(
        "name", help="instruct, think, captioner, kokoro (a voice), or piper (a Piper voice)"
    )
    download.add_argument("source", nargs="?", metavar="URL|FOLDER",
                          help="for piper: the voice's .onnx (URL or file) or a folder holding one")  # fmt: skip
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
    _list_voices()
    _list_adapters()
    return 0


def _list_adapters() -> None:
    """Adapters trained into the adapters folder: use one with heron ask --adapter NAME."""
    from engine.trainer.adapters import describe_metrics, find_adapters

    adapters = find_adapters(paths.adapters_dir())
    print("\nAdapters (heron ask --adapter NAME):" if adapters else "\nAdapters: none yet (heron train)")
    for info in adapters:
        made, base = info.created[:10] or "date unknown", info.base_model or "unknown base"
        print(f"{info.name:<20} on {base}, {made}, {describe_metrics(info.metrics)}")
    print(f"Adapters folder: {paths.adapters_dir()}")


def _list_voices() -> None:
    """Every voice, the one heron chat would take first at the top, with its licence."""
    from app.voice_model import voices_dir
    from engine.model.registry import folder_size
    from engine.speech.voices import list_voices

    print("\nVoices (heron chat --voice NAME; the first that loads speaks):")
    for info in list_voices(paths.models_dir(), voices_dir()):
        size = f", {folder_size(info.folder) / 1e6:.0f} MB" if info.folder else ""
        print(f"{info.name:<10} {info.title}: {info.state}{size}")
        print(f"{'':<10} {info.summary}")
        print(f"{'':<10} licence: {info.licence}")
    print(f"Voices folder: {voices_dir()} (add a Piper voice: heron models download piper URL|FOLDER)")


def run_download(args: argparse.Namespace) -> int:
    from engine.model.download import download_model
    from engine.model.registry import get_spec

    name = args.name.strip().lower()
    if name == "kokoro":
        return _download_kokoro()
    if name == "piper":
        return _download_piper(args.source)
    if args.source:
        raise RequestError(f"Only a Piper voice takes a URL or folder: heron models download {name}")
    spec = get_spec(args.name)
    print(f"{spec.title}: {spec.license}", file=sys.stderr)
    folder = download_model(spec, paths.models_dir(), on_progress=ProgressBar())
    print(file=sys.stderr)
    print(folder)
    return 0


def _download_kokoro() -> int:
    from engine.speech.kokoro import LICENSE, download_kokoro

    print(f"Kokoro voice (Kokoro-82M, about 330 MB): {LICENSE}", file=sys.stderr)

    def report(done: int, total: int, name: str) -> None:
        step = f"file {min(done + 1, total)} of {total}: {name}" if name else "done"
        sys.stderr.write(f"\r\033[K{step}")
        sys.stderr.flush()

    try:
        folder = download_kokoro(paths.models_dir(), on_progress=report)
    finally:
        print(file=sys.stderr)  # end the progress line, also before an error message
    print(folder)
    return 0


def _download_piper(source: str | None) -> int:
    from app.voice_model import voices_dir
    from engine.speech.piper import PIPER_LICENSE
    from engine.speech.piper_voices import voice_name
    from engine.speech.voice_download import add_piper_voice
    from engine.speech.voices import list_voices

    if not source:
        raise RequestError(
            "Give the voice: heron models download piper URL|FOLDER (a Piper voice's .onnx, its .onnx.json "
            "beside it; voices are listed at https://huggingface.co/rhasspy/piper-voices)."
        )
    print(f"Piper voice from {source} (Piper: {PIPER_LICENSE}; the voice's licence is in its model card)",
          file=sys.stderr)  # fmt: skip
    try:
        files = add_piper_voice(source, voices_dir(), on_progress=ProgressBar())
    finally:
        print(file=sys.stderr)
    name = voice_name(files.stem)
    info = next(v for v in list_voices(paths.models_dir(), voices_dir()) if v.name == name)
    print(
        f"Added {info.title}: licence {info.licence}. Speak with it: heron chat --voice {name}",
        file=sys.stderr,
    )
    print(files.model.parent)
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
