"""Speech probabilities from silero-vad, one per 32 ms chunk, for any stretch of a recording.

silero-vad ships its network as an ONNX "sequence" model too: every 32 ms chunk (with the 64
samples before it) in, every probability out, in one call, the same numbers as its own
chunk-by-chunk loop (within 1e-5). It runs on onnxruntime (already here for the Piper voice),
so grounding never imports torch: importing torch holds the interpreter for up to 180 ms at a
time, which the window would show as a frozen frame. onnxruntime releases it while it computes.
"""

from __future__ import annotations

import functools
import importlib.util
import threading
from pathlib import Path

import numpy as np

# Imported with this module, not on first use: importing onnxruntime holds the interpreter ~30 ms,
# a frozen frame in a window that is busy starting its model; at start-up nobody sees it.
import onnxruntime

CHUNK = 512  # silero's window at 16 kHz: 32 ms
CONTEXT = 64  # samples of the previous chunk it sees before each chunk
STATE = (1, 1, 128)  # its LSTM's hidden and cell state
MODEL_FILE = "silero_vad_16k_sequence.onnx"
_lock = threading.Lock()  # the session is made once


def speech_probabilities(samples: np.ndarray) -> np.ndarray:
    """One probability per 512-sample chunk of 16 kHz ``samples`` (the last chunk zero-padded),
    as silero's ``audio_forward`` computes them from a fresh state at ``samples[0]``."""
    count = -(-len(samples) // CHUNK)
    if count == 0:
        return np.zeros(0, np.float32)
    padded = np.zeros(CONTEXT + count * CHUNK, np.float32)
    padded[CONTEXT : CONTEXT + len(samples)] = samples
    index = np.arange(count)[:, None] * CHUNK + np.arange(CONTEXT + CHUNK)[None, :]
    fresh = np.zeros(STATE, np.float32)
    inputs = {"input": padded[index], "h": fresh, "c": fresh}
    return _session().run(["speech_probs"], inputs)[0].astype(np.float32).reshape(-1)


def warm_up() -> threading.Thread:
    """Open the model in the background now, so that the first snap does not wait for it."""
    thread = threading.Thread(target=_session, name="heron-grounding-warm-up", daemon=True)
    thread.start()
    return thread


def _session():
    with _lock:
        return _open()


@functools.cache
def _open():
    options = onnxruntime.SessionOptions()
    options.intra_op_num_threads = options.inter_op_num_threads = (
        1  # a snap is small; the model's process is busy
    )
    return onnxruntime.InferenceSession(str(_model_path()), options, providers=["CPUExecutionProvider"])


def _model_path() -> Path:
    """The model inside the silero-vad package, found without importing it (its __init__ imports torch)."""
    spec = importlib.util.find_spec("silero_vad")
    if spec is None or not spec.submodule_search_locations:
        raise RuntimeError("silero-vad is not installed: run `pip install silero-vad`.")
    return Path(next(iter(spec.submodule_search_locations))) / "data" / MODEL_FILE
