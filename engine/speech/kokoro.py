"""The natural-sounding voice: Kokoro-82M (StyleTTS 2 with an iSTFTNet vocoder), 24 kHz.

Runs through the ``kokoro`` package's ``KModel`` on weights in ``models_dir/kokoro`` (fetched by
``download_kokoro``, which ``heron models download kokoro`` calls). Text becomes phonemes
with espeak-ng (through misaki's espeak mapping to Kokoro's phoneme set), which needs no spaCy
model download; Kokoro's own English G2P (misaki.en, which does) is used when its spaCy model
``en_core_web_sm`` is installed. Importing torch and the model takes seconds: open the voice
once, early, off the audio threads. Its packages (kokoro, misaki, spaCy: about 290 MB) are the
optional extra ``heron[kokoro]``; Piper is the natural voice every install has.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Callable
from pathlib import Path

import numpy as np

from engine.errors import ModelError, ModelMissingError
from engine.files import FileRefusedError, read_limited

REPO_ID = "hexgrad/Kokoro-82M"
WEIGHTS_FILE = "kokoro-v1_0.pth"
CONFIG_FILE = "config.json"
MAX_CONFIG_BYTES = 2**20  # the real one is about 2 KB
DEFAULT_VOICE = "af_heart"  # American English, the best-rated voice of the release
SAMPLE_RATE = 24000
FOLDER_NAME = "kokoro"
COMPLETE_MARKER = ".heron-complete"
LICENSE = "Apache-2.0"
MAX_PHONEMES = 510  # the model's context (512) less the two boundary tokens

Phonemizer = Callable[[str], str]
ProgressCallback = Callable[[int, int, str], None]


def kokoro_dir(models_dir: Path) -> Path:
    return Path(models_dir) / FOLDER_NAME


def is_installed(models_dir: Path, voice: str = DEFAULT_VOICE) -> bool:
    folder = kokoro_dir(models_dir)
    return (folder / COMPLETE_MARKER).is_file() and (folder / "voices" / f"{voice}.pt").is_file()


def download_kokoro(
    models_dir: Path,
    voices: tuple[str, ...] = (DEFAULT_VOICE,),
    on_progress: ProgressCallback | None = None,
    token: str | None = None,
) -> Path:
    """Fetch the config, the weights and ``voices`` into ``models_dir/kokoro``; return the folder.

    Resumable like the AF-Next download (huggingface_hub keeps partial files); the completeness
    marker is written last, so a half download is never loaded.
    """
    from engine.model.download import check_disk_space, fetch_file

    folder = kokoro_dir(models_dir)
    names = [CONFIG_FILE, WEIGHTS_FILE, *(f"voices/{v}.pt" for v in voices)]
    if is_installed(models_dir) and all((folder / n).is_file() for n in names):
        return folder
    check_disk_space(folder, 350 * 10**6)  # weights 327 MB, a voice 0.5 MB
    folder.mkdir(parents=True, exist_ok=True)
    (folder / COMPLETE_MARKER).unlink(missing_ok=True)
    report = on_progress or (lambda done, total, name: None)
    for index, name in enumerate(names):
        report(index, len(names), name)
        fetch_file(REPO_ID, name, folder, lambda n: None, token)
    report(len(names), len(names), "")
    (folder / COMPLETE_MARKER).write_text(json.dumps({"repo_id": REPO_ID, "files": names}), encoding="utf-8")
    return folder


def espeak_phonemizer(british: bool = False) -> Phonemizer:
    """Kokoro phonemes from espeak-ng (misaki's mapping of espeak IPA onto Kokoro's symbols)."""
    from misaki.espeak import EspeakFallback

    fallback = EspeakFallback(british=british)

    class _Text:
        def __init__(self, text: str):
            self.text = text

    def phonemize(text: str) -> str:
        phonemes, _ = fallback(_Text(text))
        return phonemes or ""

    return phonemize


def misaki_phonemizer(british: bool = False) -> Phonemizer | None:
    """Kokoro's own English G2P when its spaCy model is installed, else None (never downloads)."""
    try:
        import spacy
        from misaki import en
        from misaki.espeak import EspeakFallback
    except ImportError:
        return None
    if not spacy.util.is_package("en_core_web_sm"):
        return None
    g2p = en.G2P(trf=False, british=british, fallback=EspeakFallback(british=british))
    return lambda text: g2p(text)[0]


class KokoroVoice:
    """Kokoro-82M speaking with one of its voice packs, ``rate`` times its normal speed."""

    name = "kokoro"
    sample_rate = SAMPLE_RATE

    def __init__(
        self,
        folder: Path,
        voice: str = DEFAULT_VOICE,
        rate: float = 1.0,
        phonemizer: Phonemizer | None = None,
        device: str = "cpu",
    ):
        folder = Path(folder)
        config_path, weights, voice_path = (
            folder / CONFIG_FILE,
            folder / WEIGHTS_FILE,
            folder / "voices" / f"{voice}.pt",
        )
        missing = [p.name for p in (config_path, weights, voice_path) if not p.is_file()]
        if missing:
            raise ModelMissingError(
                f"The Kokoro voice is not installed ({', '.join(missing)} missing in {folder}): "
                "run `heron models download kokoro`."
            )
        self.rate = rate
        self.model, self.pack = _load_model(config_path, weights, voice_path, device)
        self.phonemize = (
            phonemizer or misaki_phonemizer(voice.startswith("b")) or espeak_phonemizer(voice.startswith("b"))
        )
        self._lock = threading.Lock()

    def synthesize(self, text: str) -> np.ndarray:
        """Float32 mono samples at 24 kHz; long text is spoken in pieces that fit the context."""
        import torch

        phonemes = self.phonemize(text).strip()
        pieces = [p for p in _split_phonemes(phonemes, MAX_PHONEMES) if p.strip()]
        out: list[np.ndarray] = []
        with self._lock, torch.inference_mode():
            for piece in pieces:
                style = self.pack[min(len(piece), len(self.pack)) - 1]
                audio = self.model(piece, style, self.rate)
                out.append(audio.float().numpy().reshape(-1))
        return np.concatenate(out).astype(np.float32) if out else np.zeros(0, np.float32)


def _load_model(config_path: Path, weights: Path, voice_path: Path, device: str):
    import torch

    try:
        from kokoro.model import KModel
    except ImportError as exc:
        raise ModelError(
            'The Kokoro voice needs its optional packages: run `pip install "heron[kokoro]"`.'
        ) from exc
    try:
        config = json.loads(read_limited(config_path, MAX_CONFIG_BYTES))
    except (FileRefusedError, ValueError) as exc:
        why = exc.reason if isinstance(exc, FileRefusedError) else "is not valid JSON"
        raise ModelError(f"{config_path} {why}: run `heron models download kokoro` again.") from exc
    try:
        model = KModel(repo_id=REPO_ID, config=config, model=str(weights)).to(device).eval()
        pack = torch.load(voice_path, map_location=device, weights_only=True)
    except (RuntimeError, KeyError, AssertionError, OSError) as exc:
        raise ModelError(
            f"The Kokoro files in {config_path.parent} are damaged or from another version ({exc}): "
            "run `heron models download kokoro` again."
        ) from exc
    return model, pack


def _split_phonemes(phonemes: str, limit: int) -> list[str]:
    """Cut a phoneme string at word boundaries into pieces of at most ``limit`` symbols."""
    pieces, current = [], ""
    for word in phonemes.split(" "):
        candidate = f"{current} {word}" if current else word
        if len(candidate) <= limit:
            current = candidate
            continue
        if current:
            pieces.append(current)
        while len(word) > limit:
            pieces.append(word[:limit])
            word = word[limit:]
        current = word
    return pieces + ([current] if current else [])
