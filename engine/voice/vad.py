"""Turn detection: silero-vad on 32 ms chunks (512 samples at 16 kHz), streaming.

A turn goes through three states. Idle: the last ``pre_roll_ms`` of audio are kept, because
a speech detector fires a little after a word really begins. A voiced chunk makes it a
candidate (``onset``: the moment a barge-in pauses the speaker); once ``min_speech_ms`` of speech
has accumulated it is a turn (``started``); ``silence_ms`` of quiet then ends it (``ended``, with
the audio). The quiet is counted from where the voice really stopped: the detector's
probability stays high for a chunk or three after the last sound, so the end is moved back to
the last 8 ms frame that is still loud (within 35 dB of the turn's loudest and well above the
noise before it). A candidate that falls quiet for ``blip_gap_ms`` before becoming a turn was a blip
(a cough, a click, a door) and is dropped (``blip``).

To answer sooner, a turn that has been quiet for ``speculate_ms`` reports ``pause`` with the
audio so far: the caller may start working on the answer, and must drop that work if ``resumed``
follows; ``ended`` then carries the same audio (the turn is cut at its last voiced chunk plus
``tail_ms`` either way).

Importing silero_vad sets torch to one thread for the whole process, and that is kept on
purpose: on a busy two-core machine one 32 ms chunk took 1.3 ms with one thread and 30 to 75 ms
with two (the pool's threads fight everything else for the cores), which made the detector fall
seconds behind the microphone. The model runs in the engine process, which has its own setting.
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass

import numpy as np

from engine.audio import SAMPLE_RATE

RATE = SAMPLE_RATE
CHUNK = 512  # silero-vad's window at 16 kHz: 32 ms
CHUNK_MS = CHUNK * 1000 / RATE
FRAME = 128  # 8 ms frames for finding where the voice stopped
LOOKBACK_CHUNKS = 4  # how far back (128 ms) the end may move
END_DROP_DB = 35.0  # a frame this far below the turn's loudest is not voice any more


@dataclass
class VadOptions:
    threshold: float = 0.5  # speech probability that starts speech
    release: float = 0.35  # below this, a chunk counts as silence (hysteresis)
    silence_ms: int = 600  # quiet that ends a turn
    pre_roll_ms: int = 320  # audio kept from before the onset (at least 300 ms)
    min_speech_ms: int = 200  # voiced time that makes a candidate a turn; shorter is a blip
    blip_gap_ms: int = 250  # quiet that drops a candidate
    speculate_ms: int = 160  # quiet after which "pause" offers the turn early; 0: never
    tail_ms: int = 160  # quiet kept after the last voiced chunk (at most speculate_ms: same audio)
    max_turn_s: float = 60.0  # a turn this long ends even without a pause


@dataclass(frozen=True)
class VadEvent:
    kind: str  # "onset", "started", "blip", "pause", "resumed", "ended"
    at_s: float  # stream time of the chunk that caused it (its end)
    audio: np.ndarray | None = None  # the turn's samples, for "ended"
    speech_s: float = 0.0  # voiced time of the turn
    last_voice_s: float = 0.0  # stream time where the last voiced chunk ended


def load_vad_model():
    """silero-vad's bundled model (no download); torch runs on one thread from now on (see above)."""
    import torch
    from silero_vad import load_silero_vad

    model = load_silero_vad()
    torch.set_num_threads(1)
    return model


class TurnDetector:
    """Feed 16 kHz samples in any block size; get ``VadEvent``s as turns begin and end."""

    def __init__(self, options: VadOptions | None = None, model=None):
        self.options = options or VadOptions()
        self.model = model if model is not None else load_vad_model()
        self._pending = np.zeros(0, np.float32)
        self._chunks_seen = 0
        self._pre_roll: deque[np.ndarray] = deque(maxlen=max(1, round(self.options.pre_roll_ms / CHUNK_MS)))
        self._reset_turn()
        self.last_probability = 0.0
        self.end_early_s = 0.0  # end turns this much before the silence window is over (output latency)

    def _reset_turn(self) -> None:
        self.state = "idle"
        self._turn: list[np.ndarray] = []
        self._voiced_chunks = 0
        self._quiet_chunks = 0
        self._last_voice_chunk = 0
        self._offered = False  # "pause" sent and not yet taken back
        self._voice_end_s = 0.0  # where the voice stopped (stream time)
        self._peak_rms = 0.0
        self._noise_rms = 0.0

    @property
    def voice_end_s(self) -> float:
        """Stream time where the voice of the current turn last stopped (or goes on)."""
        return self._voice_end_s

    @property
    def now_s(self) -> float:
        return self._chunks_seen * CHUNK / RATE

    def reset(self) -> None:
        """Forget the current turn and the model's memory (e.g. after push-to-talk)."""
        self.model.reset_states()
        self._pending = np.zeros(0, np.float32)
        self._pre_roll.clear()
        self._reset_turn()

    def probability(self, chunk: np.ndarray) -> float:
        import torch

        with torch.no_grad():
            return float(self.model(torch.from_numpy(chunk), RATE))

    def feed(self, samples: np.ndarray) -> list[VadEvent]:
        data = np.concatenate([self._pending, samples.astype(np.float32, copy=False)])
        whole = len(data) // CHUNK * CHUNK
        self._pending = data[whole:]
        events: list[VadEvent] = []
        for start in range(0, whole, CHUNK):
            events += self._step(data[start : start + CHUNK])
        return events

    def _step(self, chunk: np.ndarray) -> list[VadEvent]:
        self._chunks_seen += 1
        p = self.last_probability = self.probability(chunk)
        opts = self.options
        if self.state == "idle":
            if p < opts.threshold:
                self._pre_roll.append(chunk)
                return []
            self.state = "candidate"
            self._noise_rms = min((_rms(c) for c in self._pre_roll), default=0.0)
            self._turn = [*self._pre_roll, chunk]
            self._pre_roll.clear()
            self._peak_rms = _rms(chunk)
            self._voice_end_s = self.now_s
            self._voiced_chunks, self._quiet_chunks, self._last_voice_chunk = 1, 0, self._chunks_seen
            return [VadEvent("onset", self.now_s)] + self._maybe_started()
        self._turn.append(chunk)
        events: list[VadEvent] = []
        if p >= opts.release:
            self._voiced_chunks += 1
            self._quiet_chunks = 0
            self._last_voice_chunk = self._chunks_seen
            self._voice_end_s = self.now_s
            self._peak_rms = max(self._peak_rms, _rms(chunk))
            if self._offered:
                self._offered = False
                events.append(VadEvent("resumed", self.now_s))
        else:
            self._quiet_chunks += 1
            if self._quiet_chunks == 1:
                self._voice_end_s = self._refined_end()
        if self.state == "candidate":
            if self._quiet_chunks * CHUNK_MS >= opts.blip_gap_ms:
                return self._blip()
            return self._maybe_started()
        quiet_ms = 0.0 if self._quiet_chunks == 0 else (self.now_s - self._voice_end_s) * 1000
        if (
            quiet_ms >= opts.silence_ms - self.end_early_s * 1000
            or len(self._turn) * CHUNK >= opts.max_turn_s * RATE
        ):
            return events + [self._end()]
        if opts.speculate_ms and not self._offered and quiet_ms >= opts.speculate_ms:
            self._offered = True
            events.append(self._turn_event("pause"))
        return events

    def _maybe_started(self) -> list[VadEvent]:
        if self.state == "candidate" and self._voiced_chunks * CHUNK_MS >= self.options.min_speech_ms:
            self.state = "speaking"
            return [VadEvent("started", self.now_s, speech_s=self._voiced_chunks * CHUNK / RATE)]
        return []

    def _blip(self) -> list[VadEvent]:
        kept = self._turn[-self._pre_roll.maxlen :]
        self._reset_turn()
        self._pre_roll.extend(kept)
        return [VadEvent("blip", self.now_s)]

    def _turn_event(self, kind: str) -> VadEvent:
        # Keep a little of the trailing quiet (words trail off below the detector's threshold).
        keep = min(self._quiet_chunks, round(self.options.tail_ms / CHUNK_MS))
        audio = np.concatenate(self._turn[: len(self._turn) - self._quiet_chunks + keep])
        return VadEvent(
            kind,
            self.now_s,
            audio=audio,
            speech_s=self._voiced_chunks * CHUNK / RATE,
            last_voice_s=self._voice_end_s,
        )

    def _refined_end(self) -> float:
        """Where the voice stopped: the last loud 8 ms frame of the last voiced chunks."""
        voiced = self._turn[-1 - LOOKBACK_CHUNKS : -1]
        if not voiced:
            return self.now_s - CHUNK / RATE
        floor = max(self._peak_rms * 10 ** (-END_DROP_DB / 20), 3 * self._noise_rms, 1e-4)
        frames = np.concatenate(voiced).reshape(-1, FRAME)
        loud = np.nonzero(np.sqrt(np.mean(frames.astype(np.float64) ** 2, axis=1)) >= floor)[0]
        voiced_end = self.now_s - CHUNK / RATE  # the end of the last voiced chunk
        if not len(loud):
            return voiced_end - len(voiced) * CHUNK / RATE
        return voiced_end - float(len(frames) - loud[-1] - 1) * FRAME / RATE

    def _end(self) -> VadEvent:
        event = self._turn_event("ended")
        self._reset_turn()
        return event

    def end_now(self) -> VadEvent | None:
        """End a turn in progress at once (the microphone vanished); None when there is none."""
        if self.state != "speaking":
            self._reset_turn()
            return None
        return self._end()


def _rms(samples: np.ndarray) -> float:
    return float(np.sqrt(np.mean(samples.astype(np.float64) ** 2)))
