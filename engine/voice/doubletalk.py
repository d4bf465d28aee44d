"""Double talk: is someone talking over Heron, or is the microphone hearing Heron's own echo?

WebRTC's canceller (``echo.py``) gives the cleanest signal but cannot answer this quickly: its
suppressor mutes whatever overlaps the echo, and lets a person's voice through only 100 to 150 ms
after they start. This test compares the raw microphone with what Heron played, in the spectrum,
10 ms at a time:

- the echo's delay (speaker → room → microphone, beyond what the streams' timestamps account
  for) comes from cross-correlating the last second of both, four times a second while Heron
  talks. Each search's correlation is added to a slowly fading sum and the delay is the sum's
  peak: Heron's speech can repeat itself (a periodic sound, the same word twice), and then one
  search alone has several near-equal peaks, but only the true delay comes back search after search;
- per frequency bin, the echo's strength is ``gain × the far end's power`` at that delay (a few
  milliseconds either side, with a decaying tail for the room's reverb), the gains learned on
  frames that were echo alone;
- a frame in which a good share of the speech band holds clearly more than that holds a voice
  that is not Heron's.

Until a search has said whether the microphone hears the speaker at all the test stays silent
(the loop's voice detector watches meanwhile). When it hears no echo (a headset), any sound
over Heron is someone else's; should that sound correlate with what Heron plays after all
(speakers switched on), it is the echo, and the test learns the new path at once.

Working on power spectra, not waveforms, makes it indifferent to what defeats a linear filter on
real devices: phase drift between two sound cards' clocks, a resampler in the sound server.
"""

from __future__ import annotations

import numpy as np

from engine.audio import SAMPLE_RATE

RATE = SAMPLE_RATE
BLOCK = 160  # 10 ms
WINDOW = 2 * BLOCK  # each frame's spectrum looks at the last 20 ms
HISTORY = RATE  # the delay is searched for in the last second...
MAX_DELAY = RATE // 2  # ... up to half a second
HOP = 32  # 2 ms: the delay search's resolution
SEARCH_EVERY = 25  # blocks between searches
EVIDENCE_KEPT = 0.85  # per search: the share of the summed correlation that carries over
CLEAR_MATCH = 0.5  # normalised correlation at which the microphone surely hears the speaker...
ECHO_ONLY = 0.9  # ... and at which it hears nothing else
FAR_BUSY = 0.3  # share of the searched second in which Heron must have been playing...
SURE_S = 0.1  # ... or, for an unexpected sound to be taken for the echo, that sound
SPREAD = 64  # samples either side of the delay the echo may wander (timestamps, the sound server)
FAR_ACTIVE = 10 ** (-55 / 20)  # RMS of the far end above which the speaker counts as playing
VOICE_FLOOR = 10 ** (-50 / 20)  # a microphone quieter than this (RMS) holds no voice
NO_ECHO = 10 ** (-30 / 20)  # a microphone this much quieter than the far end hears no echo of it
MARGIN = 10 ** (8 / 10)  # a bin this much above the predicted echo holds something else
SHARE = 0.1  # ... and this share of the speech band's audible bins: a voice
LOW_BIN, HIGH_BIN = 4, 96  # 200 Hz to 4.8 kHz (50 Hz bins)
TAIL = 0.7  # per 10 ms: how fast the predicted echo of a past frame fades (the room's reverb)
GAIN_FALL, GAIN_RISE = 0.1, 0.02  # per echo-only frame: a voice the test missed must not teach it much
MIN_GAIN = 1e-6  # the gains must always be able to grow again
AUDIBLE = 1e-4  # bins this far below the frame's loudest are ignored (too quiet to judge)


class DoubleTalk:
    """Feed 10 ms blocks of microphone and far end (lined up by their timestamps); see the module."""

    def __init__(self):
        self._mic = np.zeros(HISTORY + MAX_DELAY + WINDOW)
        self._far = np.zeros_like(self._mic)
        self._window = np.hanning(WINDOW)
        self._evidence = np.zeros(MAX_DELAY + 1)
        self.delay: int | None = None  # samples from the far end to its echo, once found
        self.hears_echo: bool | None = None  # None: not known yet; False: a headset
        self.gains = np.ones(WINDOW // 2 + 1)
        self._tail = np.zeros_like(self.gains)
        self._tail_level = 0.0  # RMS of the far end whose echo may still be arriving
        self._blocks = 0

    def process(self, far: np.ndarray, mic: np.ndarray) -> bool:
        """One block of each; True: the microphone holds a voice over Heron's echo."""
        self._push(far, mic)
        self._blocks += 1
        if self._blocks % SEARCH_EVERY == 0:
            self._search()
        if self.hears_echo is None or _rms(self._mic[-WINDOW:]) < VOICE_FLOOR:
            return False
        if not self.hears_echo:
            return self._far_playing() and not self._search(at_once=True)
        return self._echo_test()

    # -- with an echo path ---------------------------------------------------------------------
    def _echo_test(self) -> bool:
        end = len(self._far) - self.delay
        ends = [end] + [e for e in (end - SPREAD, end + SPREAD) if e <= len(self._far)]
        windows = [self._far[e - WINDOW : e] for e in ends]
        powers = [self._power(window) for window in windows]  # powers[0]: at the delay itself
        self._tail = np.maximum(np.max(powers, axis=0), TAIL * self._tail)
        self._tail_level = max(max(_rms(window) for window in windows), TAIL * self._tail_level)
        if self._tail_level < FAR_ACTIVE:
            return False  # no echo on its way: the turn detector decides
        mic_power = self._power(self._mic[-WINDOW:])
        talking = self._voice_in(mic_power, self.gains * self._tail)
        if not talking:
            self._learn_gains(mic_power, powers[0])
        return talking

    def _voice_in(self, mic_power: np.ndarray, echo_power: np.ndarray) -> bool:
        band, echo = mic_power[LOW_BIN:HIGH_BIN], echo_power[LOW_BIN:HIGH_BIN]
        floor = AUDIBLE * band.max()
        audible = band > 100 * floor
        if not audible.any():
            return False
        above = band[audible] > MARGIN * echo[audible] + floor
        return float(above.mean()) > SHARE

    def _learn_gains(self, mic_power: np.ndarray, far_power: np.ndarray) -> None:
        heard = far_power > 1e-3 * far_power.max()
        gains = self.gains[heard]
        ratio = np.minimum(mic_power[heard] / (far_power[heard] + 1e-12), MARGIN * gains)
        learned = gains + np.where(ratio > gains, GAIN_RISE, GAIN_FALL) * (ratio - gains)
        self.gains[heard] = np.maximum(learned, MIN_GAIN)

    def _far_playing(self) -> bool:
        return _rms(self._far[-HISTORY // 2 :]) > FAR_ACTIVE

    # -- finding the path ----------------------------------------------------------------------
    def _search(self, at_once: bool = False) -> bool:
        """Look for the echo in the last second; True when the microphone hears the speaker.

        ``at_once``: a sound while no echo was expected; it is the echo (and the path is learnt
        from it) only when it matches what Heron played beyond doubt.
        """
        mic = self._mic[-HISTORY:]
        far = self._far[-(HISTORY + MAX_DELAY) :]
        far_level, mic_level = _rms(far[-HISTORY:]), _rms(mic)
        busy = _active_share(far[-HISTORY:]) >= FAR_BUSY
        if busy and not at_once and mic_level < NO_ECHO * far_level:
            self._no_echo()
            return False
        if _active_share(mic) * HISTORY < SURE_S * RATE:
            return False  # too little sound on the microphone to tell anything by
        match = self._correlate(mic, far)
        clear = bool(match.max() >= (ECHO_ONLY if at_once else CLEAR_MATCH))
        if not (clear or (busy and self.hears_echo and not at_once)):
            return False  # too little of Heron, or of its echo, to go by
        self._evidence = EVIDENCE_KEPT * self._evidence + match
        self._found(int(np.argmax(self._evidence)), mic, far, echo_only=bool(match.max() >= ECHO_ONLY))
        return True

    def _correlate(self, mic: np.ndarray, far: np.ndarray) -> np.ndarray:
        """Correlation of the microphone's loudness with the far end's ``lag`` samples earlier.

        Loudness over 2 ms, not the waveforms: the sound server's resampling moves the echo by
        fractions of a millisecond within a second, which smears a waveform correlation to
        nothing but leaves the rise and fall of syllables in place.
        """
        mic_env = np.sqrt(np.square(mic).reshape(-1, HOP).mean(axis=1))
        far_env = np.sqrt(np.square(far).reshape(-1, HOP).mean(axis=1))
        mic_env = mic_env - mic_env.mean()
        n = len(mic_env)
        # products[k]: the microphone against the far end from hop k on, i.e. heard (last - k) hops earlier
        products = np.correlate(far_env, mic_env, mode="valid")
        sums = np.concatenate([[0.0], np.cumsum(far_env)])
        squares = np.concatenate([[0.0], np.cumsum(np.square(far_env))])
        segment_sum = sums[n:] - sums[:-n]
        spread = np.sqrt(np.maximum(squares[n:] - squares[:-n] - segment_sum**2 / n, 0.0))
        # A far end that barely moves over the window (silence) matches nothing.
        match = np.where(spread > FAR_ACTIVE * np.sqrt(n), products, 0.0) / (
            np.linalg.norm(mic_env) * spread + 1e-12
        )
        return np.clip(np.repeat(match[::-1], HOP)[: MAX_DELAY + 1], 0.0, 1.0)

    def _found(self, delay: int, mic: np.ndarray, far: np.ndarray, echo_only: bool) -> None:
        """The echo comes ``delay`` samples after its sound. On a new path (speakers switched on,
        or a delay found anew) the gains start from its overall coupling; and when the microphone
        heard nothing but the echo, no gain may stay far below that (it would take the echo for
        a voice)."""
        shifted = far[MAX_DELAY - delay : MAX_DELAY - delay + HISTORY]
        coupling = float(np.mean(np.square(mic)) / (np.mean(np.square(shifted)) + 1e-12))
        moved = self.delay is not None and abs(delay - self.delay) > 2 * SPREAD
        if not self.hears_echo or (moved and echo_only):  # learnt at the wrong delay: start again
            self.gains[:] = max(coupling, MIN_GAIN)
        elif echo_only:
            self.gains = np.maximum(self.gains, coupling / MARGIN)
        self.delay, self.hears_echo = delay, True

    def _no_echo(self) -> None:
        self.hears_echo, self.delay = False, None
        self._evidence[:] = 0.0

    # -- helpers -------------------------------------------------------------------------------
    def _push(self, far: np.ndarray, mic: np.ndarray) -> None:
        for history, block in ((self._far, far), (self._mic, mic)):
            history[: -len(block)] = history[len(block) :]
            history[-len(block) :] = block

    def _power(self, samples: np.ndarray) -> np.ndarray:
        return np.square(np.abs(np.fft.rfft(samples * self._window)))


def _active_share(samples: np.ndarray) -> float:
    """The share of 10 ms blocks in which ``samples`` are louder than a playing speaker's floor."""
    blocks = samples[: len(samples) // BLOCK * BLOCK].reshape(-1, BLOCK)
    return float(np.mean(np.sqrt(np.mean(np.square(blocks), axis=1)) > FAR_ACTIVE))


def _rms(samples: np.ndarray) -> float:
    return float(np.sqrt(np.mean(np.square(samples))))
