"""Every voice Heron can speak with, and the order it falls back along when one fails.

The order is Piper (natural, in the install: the default), then Kokoro (natural, when its weights
and its optional packages are installed), then eSpeak NG (robotic, but inside a library that
always loads). A chosen voice that fails to open gives way to the next one in that order, with a
notice that says why, so Heron always speaks.
"""

from __future__ import annotations

import importlib.util
import json
from dataclasses import dataclass
from pathlib import Path

from engine.errors import HeronError, RequestError
from engine.speech import piper_voices
from engine.speech.piper import BUILTIN_NAME, PIPER_LICENSE, PiperFiles, builtin_files, card_licence
from engine.speech.tts import Voice, open_voice

ORDER = (BUILTIN_NAME, "kokoro", "espeak")
ESPEAK_LICENSE = "GPL-3.0-or-later (eSpeak NG)"
KOKORO_EXTRA = 'pip install "heron[kokoro]"'


@dataclass(frozen=True)
class VoiceInfo:
    name: str  # what --voice and the settings take: piper, piper:<stem>, kokoro, espeak
    title: str
    summary: str
    licence: str
    installed: bool
    state: str  # "in the install", "installed", or what is missing and the command that adds it
    folder: Path | None = None  # its files; None when it lives inside a package
    removable: bool = False  # an added voice (a folder Heron wrote), not one from a package


def list_voices(models_dir: Path | None, voices_dir: Path | None) -> list[VoiceInfo]:
    """The built-in Piper voice, the added Piper voices, Kokoro and eSpeak NG, in that order."""
    voices = []
    builtin = builtin_files()
    if builtin is not None:
        voices.append(_piper_info(BUILTIN_NAME, builtin, builtin=True))
    for name, files in piper_voices.added_voices(voices_dir).items():
        voices.append(_piper_info(name, files, builtin=False))
    voices.append(kokoro_info(models_dir))
    voices.append(VoiceInfo("espeak", "eSpeak NG (built in)", "A clear, robotic voice that always works.",
                            ESPEAK_LICENSE, installed=True, state="in the install"))  # fmt: skip
    return voices


def installed_voices(models_dir: Path | None, voices_dir: Path | None) -> list[VoiceInfo]:
    return [v for v in list_voices(models_dir, voices_dir) if v.installed]


def _piper_info(name: str, files: PiperFiles, builtin: bool) -> VoiceInfo:
    speaker, place = _describe(files)
    dataset = card_licence(files.card)
    licence = f"{PIPER_LICENSE} (Piper); voice: {dataset or 'see its model card'}"
    if builtin:
        licence = f"{PIPER_LICENSE} (Piper); voice: MIT (package), {dataset or 'CC0'} dataset"
    title = f"{speaker} (Piper, {place}{', built in' if builtin else ''})"
    summary = (
        "A natural voice that needs no download." if builtin else f"An added Piper voice ({files.stem})."
    )
    folder = None if builtin else files.model.parent
    state = "in the install" if builtin else "installed"
    return VoiceInfo(name, title, summary, licence, True, state, folder, removable=not builtin)


def _describe(files: PiperFiles) -> tuple[str, str]:
    """(speaker, "English, United States") from the voice's config, or from its file name."""
    try:
        config = json.loads(files.config.read_text(encoding="utf-8"))
        language = config.get("language", {})
        place = ", ".join(p for p in (language.get("name_english"), language.get("country_english")) if p)
        return str(config.get("dataset") or files.stem).capitalize(), place or files.stem
    except (OSError, ValueError, AttributeError):
        return files.stem, "voice"


def kokoro_info(models_dir: Path | None) -> VoiceInfo:
    from engine.speech.kokoro import LICENSE, is_installed, kokoro_dir

    downloaded = models_dir is not None and is_installed(models_dir)
    packaged = importlib.util.find_spec("kokoro") is not None
    if not packaged:
        state = f"needs its optional packages: {KOKORO_EXTRA}" + (
            "" if downloaded else ", then heron models download kokoro"
        )
    elif not downloaded:
        state = "not downloaded, ~330 MB: heron models download kokoro"
    else:
        state = "installed"
    folder = kokoro_dir(models_dir) if downloaded else None
    summary = "A natural voice (Kokoro-82M, American English)."
    return VoiceInfo("kokoro", "Kokoro", summary, LICENSE, downloaded and packaged, state, folder, downloaded)


def fallback_chain(name: str) -> list[str]:
    """``name`` first, then the others in Heron's order."""
    return [name, *(other for other in ORDER if other != name)]


def open_with_fallback(
    name: str, models_dir: Path | None = None, rate: float = 1.0, voices_dir: Path | None = None
) -> tuple[Voice, list[str]]:
    """The voice ``name``, or the next one that opens; and a notice saying why, when it is not ``name``.

    An unknown name or a bad rate is the caller's mistake and raises RequestError; a voice that
    is missing or broken is a notice. Kokoro is skipped quietly when it is not downloaded and
    was not asked for. eSpeak NG, last, raises if even it fails.
    """
    reasons: list[str] = []
    chain = fallback_chain(name)
    for index, candidate in enumerate(chain):
        if candidate == "kokoro" and candidate != name and not kokoro_info(models_dir).installed:
            continue
        try:
            voice = open_voice(candidate, models_dir, rate, voices_dir)
        except RequestError:
            raise
        except HeronError as exc:
            if index == len(chain) - 1:
                raise
            reasons.append(exc.message)
            continue
        notices = (
            [f"{' '.join(reasons)} Heron speaks with {spoken_title(voice.name)} instead."] if reasons else []
        )
        return voice, notices
    raise AssertionError("eSpeak NG ends the chain: it opens or raises")


def spoken_title(name: str) -> str:
    """The name a person knows a voice by: Piper, Piper (en_GB-alan-medium), Kokoro, eSpeak NG."""
    if name.startswith(piper_voices.PREFIX):
        return f"Piper ({name.removeprefix(piper_voices.PREFIX)})"
    return {"espeak": "eSpeak NG", "kokoro": "Kokoro", BUILTIN_NAME: "Piper"}.get(name, name)
