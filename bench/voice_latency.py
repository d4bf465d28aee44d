"""Voice latency on virtual sound devices, per voice: end of speech to Heron's first reply sample,
the longest gap while an answer is spoken, the voice's real-time factor, barge-in stop time, and
the echo canceller's ERLE on a real (virtual) echo path.

A PulseAudio server with null sinks stands in for the sound card (packaging/sound-server.sh):
spoken questions (espeak-ng) are played into the virtual microphone, and the virtual speaker's
monitor is recorded; both sides carry the sound server's timestamps, so the measurements are
of what a person would hear. The model is the tiny offline AF-Next, in its own process.

- latency: from the end of the question (its last sample above 0.01) as it reached the
  microphone, to the first sample of the reply on the speaker; 10 turns, no echo path. Answers
  are capped at 16 tokens (the tiny model's random text has no sentence ends: a real answer's
  first clause takes about as many tokens).
- barge-in: the speaker routed back into the microphone (module-loopback, 30 ms, 0.7 gain, like
  laptop speakers); while Heron talks, the user says "Wait, please stop there."; from the
  interruption's onset (its first sample above 0.01, as for the questions) to the speaker's last
  sound (above 0.01).
- ERLE: the canceller alone (the residual-echo gate off) on that path while Heron talks, after
  the first 1.5 s.
- first token to speech: from the model's first token to the first part of speech ready to play,
  the voice's own share of the reply latency (median over the latency turns).
- gaps: 3 longer answers (96 tokens); ``gap_ms_max`` is the longest time the speaker ran dry
  between two pieces of one answer (the voice, or the model, late), over the latency and gap
  turns; ``rtf`` the median of the turns' synthesis time over speech made.

``--voice piper,espeak`` (the default) measures each voice in turn, on a fresh engine.
Prints a table per voice and ends with one JSON line:
{"bench": "voice_latency", "silence_ms": …, "voices": {"piper": {"latency_median_ms": …,
 "latency_p90_ms": …, "first_token_to_speech_ms": …, "gap_ms_max": …, "rtf": …, "barge_in_stop_median_ms": …, "erle_db": …}, …}}
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import tempfile
import threading
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from app.engines.local import LocalEngine  # noqa: E402
from engine.audio import SAMPLE_RATE  # noqa: E402
from engine.events import Done  # noqa: E402
from engine.model.tiny import build_tiny_model  # noqa: E402
from engine.requests import ModelChoice  # noqa: E402
from engine.speech.tts import open_voice  # noqa: E402
from engine.voice.devices import refresh  # noqa: E402
from engine.voice.echo import erle_db  # noqa: E402
from engine.voice.events import BargeIn, SpeechStarted  # noqa: E402
from engine.voice.loop import ChatOptions, VoiceLoop  # noqa: E402
from engine.voice.vad import VadOptions  # noqa: E402
from tests.media import speech  # noqa: E402
from tests.virtual_sound import SpeakerRecorder, VirtualMic, echo_path, ensure_server, pulse_device  # noqa: E402

QUESTIONS = [
    "What is the loudest sound in this recording?",
    "How many people are speaking?",
    "Is there any music in the background?",
    "What happens at the start?",
    "Tell me about the birds.",
    "Where was this recorded?",
    "Does anyone laugh?",
    "What language are they speaking?",
    "Is the speaker a man or a woman?",
    "Summarise it in one sentence.",
]
INTERRUPTION = "Wait, please stop there."
MIN_REPLY_MS = 300
ECHO_TEXT = (
    "This is Heron speaking through the laptop speakers. The recording starts with a door closing, "
    "then a dog barks twice and a car passes from left to right. Near the end someone laughs."
)


class Bench:
    def __init__(self, model: Path, silence_ms: int, voice: str):
        self.client = LocalEngine()
        device = pulse_device()
        choice = ModelChoice(str(model), str(model.parent), "fp32", "cpu")
        options = ChatOptions(model=choice, vad=VadOptions(silence_ms=silence_ms), max_new_tokens=16)
        self.loop = VoiceLoop.open(self.client, open_voice(voice), device, device, options)
        self.recorder, self.mic = SpeakerRecorder(), VirtualMic()
        self.pauses = self.resumes = 0  # the speaker held for a possible barge-in, and let go again
        pause, resume = self.loop.player.pause, self.loop.player.resume

        def counted_pause() -> None:
            self.pauses += 1
            pause()

        def counted_resume() -> None:
            self.resumes += 1
            resume()

        self.loop.player.pause, self.loop.player.resume = counted_pause, counted_resume
        self.events: list = []
        self.loop.start()
        threading.Thread(target=self._read, daemon=True).start()
        if not self.loop.wait_ready(120):
            raise SystemExit("the engine did not load the tiny model")

    def _read(self) -> None:
        for event in self.loop.events(poll_s=0.02):
            self.events.append((time.monotonic(), event))

    def _wait(self, kind: type, after: float, timeout: float = 30.0):
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            for at, event in list(self.events):
                if at >= after and isinstance(event, kind):
                    return event
            time.sleep(0.01)
        return None

    def _settle(self) -> None:
        self.loop.player.wait_idle(30)
        time.sleep(0.6)

    def latency_turn(self, question: str) -> tuple[float | None, dict]:
        started = time.monotonic()
        _, end = self.mic.play(speech(question))
        done = self._wait(Done, started)
        self._settle()
        onset = self.recorder.onset_after(end)
        return ((onset - end) * 1000 if onset else None), (done.stats if done else {})

    def long_turn(self, question: str, tokens: int = 96) -> dict:
        """A longer answer, spoken to its end: its gaps and real-time factor."""
        started = time.monotonic()
        self.loop.options.max_new_tokens = tokens
        self.mic.play(speech(question))
        done = self._wait(Done, started, timeout=60)
        self._settle()
        self.loop.options.max_new_tokens = 16
        return done.stats if done else {}

    def barge_turn(self) -> tuple[float | None, bool]:
        started = time.monotonic()
        self.loop.options.max_new_tokens = 400
        _, end = self.mic.play(speech("Tell me everything about this recording."), wait=True)
        deadline = time.monotonic() + 30
        while self.recorder.onset_after(end) is None and time.monotonic() < deadline:
            time.sleep(0.02)
        time.sleep(1.0)
        self._wait_until_speaking()  # interrupt Heron mid-word, not in a pause between sentences
        interruption = speech(INTERRUPTION)
        heard, spoken_end = self.mic.play(interruption)
        onset = heard + int(np.nonzero(np.abs(interruption) > 0.01)[0][0]) / SAMPLE_RATE
        time.sleep(0.6)
        times, samples = self.recorder._timeline(onset)
        window = (times >= onset) & (times <= spoken_end + 0.5) & (np.abs(samples) > 0.01)
        stopped = float(times[window][-1]) if window.any() else onset
        barged = self._wait(BargeIn, started, timeout=2) is not None
        self._wait(
            Done, spoken_end + 0.2, timeout=15
        )  # the interruption is a question too: let it be answered
        self._settle()
        self.loop.options.max_new_tokens = 16
        return (stopped - onset) * 1000, barged

    def _wait_until_speaking(self, timeout: float = 5.0) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            since = time.monotonic() - 0.08
            times, samples = self.recorder._timeline(since)
            recent = times > since
            if recent.any() and np.abs(samples[recent]).max() > 0.1:
                return
            time.sleep(0.005)

    def echo_erle(self) -> tuple[float, int]:
        raw, cleaned = [], []
        process, canceller = self.loop.echo.process, self.loop.echo
        gate, canceller.gate = canceller.gate, None

        def record(samples, captured_end):
            out = process(samples, captured_end)
            raw.append(samples.copy())
            cleaned.append(out.copy())
            return out

        canceller.process = record
        started = time.monotonic()
        self.loop.say(ECHO_TEXT)
        time.sleep(1.0)
        self.loop.player.wait_idle(30)
        time.sleep(0.5)
        canceller.process, canceller.gate = process, gate
        false_turns = sum(1 for at, e in self.events if at >= started and isinstance(e, SpeechStarted))
        mic, out = np.concatenate(raw), np.concatenate(cleaned)
        loud = np.nonzero(np.abs(mic) > 0.01)[0]
        begin = loud[0] + round(1.5 * SAMPLE_RATE) if len(loud) else 0
        return erle_db(mic[begin:], out[begin:]), false_turns

    def close(self) -> None:
        self.loop.close()
        self.client.shutdown()
        self.recorder.close()
        self.mic.close()


def percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(share * (len(ordered) - 1)))]


def measure(voice: str, model: Path, args) -> dict:
    bench = Bench(model, args.silence_ms, voice)
    try:
        turns = [bench.latency_turn(QUESTIONS[i % len(QUESTIONS)]) for i in range(args.turns)]
        long = [bench.long_turn(QUESTIONS[i]) for i in range(args.long_turns)]
        with echo_path(latency_ms=30, volume=0.7):
            erle, false_turns = bench.echo_erle()
            pauses_before = bench.pauses, bench.resumes
            barges = [bench.barge_turn() for _ in range(args.barge_ins)]
            held = (bench.pauses - pauses_before[0], bench.resumes - pauses_before[1])
    finally:
        bench.close()
    print(f"\n== voice: {voice} ==")
    return report(turns, long, barges, erle, false_turns, held, bench.loop.player.underruns)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument(
        "--voice", default="piper,espeak", help="voices, comma-separated (default: piper,espeak)"
    )
    parser.add_argument("--turns", type=int, default=10)
    parser.add_argument("--long-turns", type=int, default=3)
    parser.add_argument("--barge-ins", type=int, default=5)
    parser.add_argument("--silence-ms", type=int, default=600)
    args = parser.parse_args()
    ensure_server()
    refresh()
    results = {}
    with tempfile.TemporaryDirectory() as tmp:
        model = build_tiny_model(Path(tmp) / "tiny")
        for voice in args.voice.split(","):
            results[voice] = measure(voice, model, args)
    print(
        f"\n{'voice':<8} {'median':>7} {'p90':>6} {'gap max':>8} {'rtf':>6} {'barge-in':>9} {'ERLE':>6}  (ms, dB)"
    )
    for voice, r in results.items():
        cells = [str(r[k]) for k in ("latency_median_ms", "latency_p90_ms", "gap_ms_max", "rtf")]
        print(f"{voice:<8} {cells[0]:>7} {cells[1]:>6} {cells[2]:>8} {cells[3]:>6} "
              f"{r['barge_in_stop_median_ms']!s:>9} {r['erle_db']!s:>6}")  # fmt: skip
    print(json.dumps({"bench": "voice_latency", "silence_ms": args.silence_ms, "voices": results}))


def report(turns, long, barges, erle: float, false_turns: int, held: tuple[int, int], underruns: int) -> dict:
    stages = (
        "voice_end_detected_ms",
        "voice_first_token_ms",
        "voice_first_sentence_ms",
        "voice_first_audio_ms",
    )
    print(
        f"{'turn':>4} {'reply ms':>9} {'end det':>8} {'1st tok':>8} {'1st sent':>9} {'1st audio':>9} {'gap max':>8} {'rtf':>6}"
    )
    for i, (latency, stats) in enumerate(turns):
        cells = [f"{stats.get(s, float('nan')):>8.0f}" for s in stages]
        extra = f"{stats.get('voice_gap_ms_max', float('nan')):>8.0f} {stats.get('voice_rtf', float('nan')):>6.3f}"
        print(f"{i:>4} {latency if latency is not None else float('nan'):>9.0f} {' '.join(cells)} {extra}")
    for i, stats in enumerate(long):
        print(f"long {i}: gap max {stats.get('voice_gap_ms_max')} ms, rtf {stats.get('voice_rtf')}, "
              f"{stats.get('tokens', '?')} tokens")  # fmt: skip
    # A reply heard sooner than half the silence window cannot be this turn's (it is the tail of an
    # earlier sound on the speaker's monitor): such a turn is not measured, and is counted.
    measured = [t for t, _ in turns if t is not None and t >= MIN_REPLY_MS]
    print(f"turns measured: {len(measured)} of {len(turns)} (none heard, or heard too soon to be the reply)")
    stops = [s for s, _ in barges if s is not None]
    spoken = [stats for _, stats in turns] + long
    gaps = [s["voice_gap_ms_max"] for s in spoken if "voice_gap_ms_max" in s]
    rtfs = [s["voice_rtf"] for s in spoken if "voice_rtf" in s]
    # From the model's first token to the first part of speech ready: the voice's own share of the
    # reply latency (the model's first token varies with the machine's load; this much less).
    to_speech = [s["voice_first_sentence_ms"] - s["voice_first_token_ms"] for _, s in turns
                 if "voice_first_sentence_ms" in s and "voice_first_token_ms" in s]  # fmt: skip
    print(
        f"barge-in stop ms: {[round(s) for s in stops]} (barge-in events: {sum(b for _, b in barges)}/{len(barges)})"
    )
    print(f"ERLE on the loopback echo path: {erle:.1f} dB; turns started by echo alone: {false_turns}")
    print(f"during the barge-in turns the speaker was held {held[0]} times and resumed {held[1]} times "
          "(a resume: a hold that ended with no barge-in confirmed)")  # fmt: skip
    print(f"Heron's speaker ran out of sound {underruns} times (each moves the echo the canceller follows)")
    return {
        "latency_median_ms": round(statistics.median(measured), 1) if measured else None,
        "latency_p90_ms": round(percentile(measured, 0.9), 1) if measured else None,
        "first_token_to_speech_ms": round(statistics.median(to_speech), 1) if to_speech else None,
        "gap_ms_max": round(max(gaps), 1) if gaps else None,
        "rtf": round(statistics.median(rtfs), 3) if rtfs else None,
        "barge_in_stop_median_ms": round(statistics.median(stops), 1) if stops else None,
        "erle_db": round(erle, 1),
        "underruns": underruns,
    }


if __name__ == "__main__":
    main()
