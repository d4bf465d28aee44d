"""The voices in the model manager: their rows (with licences), Kokoro's download, removal.

Voices sit beside the AF-Next models, but they are not models to answer with: their rows are of
kind "voice", and "Use" makes one the voice Heron speaks with (Settings → Voice). Piper and
eSpeak NG come with the install; added Piper voices live in the voices folder
(``heron models download piper URL|FOLDER``); Kokoro's weights in the models folder.
"""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import TYPE_CHECKING

from app import paths
from engine.model.registry import folder_size
from engine.speech.voices import VoiceInfo, list_voices

if TYPE_CHECKING:  # heron chat and heron models use this module without loading Qt
    from ui.model_manager import ModelRow

KOKORO = "kokoro"
PREVIEW_TEXT = "Hello, I'm Heron. At [01:05], a dog barks twice."  # Settings → Voice → Preview
_APPROX_BYTES = {"kokoro-v1_0.pth": 327_000_000, "config.json": 3_000}  # a voice pack: about 0.5 MB
_VOICE_PACK_BYTES = 520_000


def voices_dir() -> Path:
    """Where added Piper voices go (beside the models folder, so that no voice is taken for a model)."""
    return paths.data_dir() / "voices"


def is_voice(name: str) -> bool:
    return name in ("piper", KOKORO, "espeak") or name.startswith("piper:")


def voice_rows(models_dir: Path, in_use: str = "") -> list[ModelRow]:
    """One row per voice Heron knows, installed or not, each with its licence."""
    return [_row(info, models_dir, info.name == in_use) for info in list_voices(models_dir, voices_dir())]


def _row(info: VoiceInfo, models_dir: Path, in_use: bool) -> ModelRow:
    from ui.model_manager import ModelRow

    if info.folder is not None:
        size_text = f"{folder_size(info.folder) / 1e6:.0f} MB on disk"
    elif info.installed:
        size_text = "in the install"
    else:
        size_text = "about 0.33 GB to download"
    can_fetch = info.name == KOKORO and info.folder is None and "heron[kokoro]" not in info.state
    summary = info.summary if info.installed else f"{info.summary} {info.state[0].upper()}{info.state[1:]}."
    return ModelRow(info.name, f"Voice: {info.title}", summary, info.licence, size_text,
                    info.installed, in_use, importable=False, kind="voice",
                    downloadable=can_fetch, removable=info.removable)  # fmt: skip


def kokoro_download(models_dir: Path):
    """The panel's work function: download Kokoro, reporting progress in (estimated) bytes."""
    from engine.speech.kokoro import CONFIG_FILE, WEIGHTS_FILE, download_kokoro

    sizes = [_APPROX_BYTES[CONFIG_FILE], _APPROX_BYTES[WEIGHTS_FILE], _VOICE_PACK_BYTES]
    total = sum(sizes)

    def work(report) -> Path:
        def by_file(done_files: int, _count: int, name: str) -> None:
            report(sum(sizes[:done_files]), total, name)

        return download_kokoro(models_dir, on_progress=by_file)

    return work


def remove_voice(name: str, models_dir: Path) -> None:
    """Delete an added voice's folder (never one that came with the install)."""
    for info in list_voices(models_dir, voices_dir()):
        if info.name == name and info.removable and info.folder is not None:
            shutil.rmtree(info.folder, ignore_errors=True)
