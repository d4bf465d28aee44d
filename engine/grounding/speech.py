"""Speech probabilities from silero-vad, one per 32 ms chunk, for any stretch of a recording.

silero-vad's own ``audio_forward`` runs its whole network once per chunk: about 16 ms per second
of audio on this machine, too slow for a few milliseconds per anchor. Its network is a per-chunk
front end (STFT and convolutions) and one LSTM cell across chunks, so the fast path runs the
front end on every chunk at once and the cell as one ``nn.LSTM`` call: the same numbers (within
0.01, checked on first use) about 15 times faster. Should a silero release change that layout,
the check fails and the reference loop is used.
"""

from __future__ import annotations

import functools
import threading

import numpy as np

CHUNK = 512  # silero's window at 16 kHz: 32 ms
CONTEXT = 64  # samples of the previous chunk it sees before each chunk
_lock = threading.Lock()  # the model is shared: one stretch at a time


def speech_probabilities(samples: np.ndarray) -> np.ndarray:
    """One probability per 512-sample chunk of 16 kHz ``samples`` (the last chunk zero-padded),
    computed as ``audio_forward`` would from a fresh state at ``samples[0]``."""
    count = -(-len(samples) // CHUNK)
    if count == 0:
        return np.zeros(0, np.float32)
    padded = np.zeros(CONTEXT + count * CHUNK, np.float32)
    padded[CONTEXT : CONTEXT + len(samples)] = samples
    with _lock:
        return _runner()(padded, count)


def warm_up() -> threading.Thread:
    """Load torch and silero in the background now, so that the first snap does not wait ~1 s."""

    def load() -> None:
        with _lock:
            _runner()

    thread = threading.Thread(target=load, name="heron-grounding-warm-up", daemon=True)
    thread.start()
    return thread


@functools.cache
def _runner():
    """The fast path when it agrees with silero's own loop, else the loop."""
    import torch

    from engine.voice.vad import load_vad_model

    model = load_vad_model()
    reference = functools.partial(_reference, model)
    try:
        fast = functools.partial(_fast, model._model, _lstm_of(model._model.decoder.rnn))
        probe = np.random.default_rng(0).normal(0, 0.1, CONTEXT + 40 * CHUNK).astype(np.float32)
        agrees = np.allclose(fast(probe, 40), reference(probe, 40), atol=0.01)
    except (AttributeError, RuntimeError, torch.jit.Error):  # not the layout this was written for
        agrees = False
    return fast if agrees else reference


def _lstm_of(cell):
    """An ``nn.LSTM`` with the weights of silero's ``LSTMCell``: the whole sequence in one call."""
    import torch

    lstm = torch.nn.LSTM(cell.weight_ih.shape[1], cell.weight_hh.shape[1])
    with torch.no_grad():
        for name in ("weight_ih", "weight_hh", "bias_ih", "bias_hh"):
            getattr(lstm, f"{name}_l0").copy_(getattr(cell, name))
    return lstm.eval()


def _frames(padded: np.ndarray, count: int) -> np.ndarray:
    """Each chunk with the ``CONTEXT`` samples before it, as silero's streaming call builds them."""
    index = np.arange(count)[:, None] * CHUNK + np.arange(CONTEXT + CHUNK)[None, :]
    return padded[index]


def _fast(net, lstm, padded: np.ndarray, count: int) -> np.ndarray:
    import torch

    with torch.inference_mode():
        features = net.encoder(net.stft(torch.from_numpy(_frames(padded, count))))
        hidden, _ = lstm(features.squeeze(-1)[:, None, :])
        return net.decoder.decoder(hidden[:, 0, :, None]).reshape(-1).numpy().astype(np.float32)


def _reference(model, padded: np.ndarray, count: int) -> np.ndarray:
    import torch

    with torch.inference_mode():
        audio = torch.from_numpy(padded[CONTEXT:].copy())[None, :]
        return model.audio_forward(audio, 16000)[0, :count].numpy().astype(np.float32)
