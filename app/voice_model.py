"""The Kokoro voice in the model manager: its row, its download and its removal.

Kokoro's weights live in the models folder next to AF-Next, but it is a voice, not a model to
answer with: "Use" makes it the voice Heron speaks with (Settings → Voice), not the model.
"""

from __future__ import annotations

import shutil
from pathlib import Path

from ui.model_manager import ModelRow

KOKORO = "kokoro"
_APPROX_BYTES = {"kokoro-v1_0.pth": 327_000_000, "config.json": 3_000}  # a voice pack: about 0.5 MB
_VOICE_PACK_BYTES = 520_000


def kokoro_row(models_dir: Path, in_use: bool = False) -> ModelRow:
    from engine.speech.kokoro import LICENSE, is_installed, kokoro_dir

    installed = is_installed(models_dir)
    if installed:
        size = sum(f.stat().st_size for f in kokoro_dir(models_dir).rglob("*") if f.is_file())
        size_text = f"{size / 1e6:.0f} MB on disk"
    else:
        size_text = "about 0.33 GB to download"
    summary = "A natural-sounding voice for spoken answers (eSpeak NG, built in, needs no download)"
    return ModelRow(KOKORO, "Kokoro voice", summary, LICENSE, size_text, installed, in_use, importable=False)


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


def remove_kokoro(models_dir: Path) -> None:
    from engine.speech.kokoro import kokoro_dir

    shutil.rmtree(kokoro_dir(models_dir), ignore_errors=True)
