"""Snapping cited times to the events they name, on scenes built here with known onsets."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import soxr

from engine.events import Step
from engine.grounding import PRE_ROLL_S, ArrayAudio, Grounder, ground_step, play_start, snap, unsnapped
from tests import media
from tests.scenes import RATE, click, noise, put, spoken, tone

ROOT = Path(__file__).resolve().parent.parent


def test_speech_after_silence_snaps_to_where_the_voice_starts():
    scene = put(noise(6.0, 0.001), 2.37, spoken("Please close the door."))
    found = snap(scene, RATE, 2.0, text='He says "please close the door"')
    assert found.kind == "speech" and found.confidence > 0.3
    assert found.start_s == pytest.approx(2.37, abs=0.06)
    assert found.end_s > found.start_s + 1.0  # the phrase's extent
    assert (found.raw_start_s, found.raw_end_s) == (2.0, 2.0)


def test_a_click_in_noise_snaps_to_its_onset():
    scene = put(noise(10.0, 0.02), 5.63, click())
    found = snap(scene, RATE, 5.0, text="A knock at the door")
    assert found.kind == "sound"
    assert found.start_s == pytest.approx(5.63, abs=0.03)


def test_two_events_a_second_apart_each_snap_to_their_own():
    scene = put(put(noise(8.0, 0.01), 3.2, click()), 4.2, tone(0.3))
    grounder = Grounder(ArrayAudio(scene))
    assert grounder.snap(3.0, text="a knock").start_s == pytest.approx(3.2, abs=0.03)
    assert grounder.snap(4.0, text="a beep").start_s == pytest.approx(4.2, abs=0.03)
    # Without a word for the kind, the cited second decides.
    assert grounder.snap(3.0, text="something").start_s == pytest.approx(3.2, abs=0.03)
    assert grounder.snap(4.0, text="something").start_s == pytest.approx(4.2, abs=0.03)


def test_a_range_snaps_its_start_and_its_end():
    scene = put(noise(9.0, 0.005), 2.4, tone(2.9, 440.0))
    found = snap(scene, RATE, 2.0, 5.0, text="A tone plays from 00:02 to 00:05")
    assert found.start_s == pytest.approx(2.4, abs=0.03)
    assert found.end_s == pytest.approx(5.3, abs=0.1)
    assert (found.raw_start_s, found.raw_end_s) == (2.0, 5.0)


def test_pure_noise_keeps_the_cited_time():
    found = snap(noise(10.0, 0.05, seed=3), RATE, 4.0, 6.0, text="a bell rings")
    assert found.kind == "none" and found.confidence == 0.0
    assert (found.start_s, found.end_s) == (4.0, 6.0)


def test_a_time_beyond_the_recording_is_kept():
    assert snap(noise(3.0, 0.01), RATE, 5.0).kind == "none"


def test_any_sample_rate_gives_the_same_onset():
    scene = put(noise(8.0, 0.02), 4.41, click())
    native = soxr.resample(scene, RATE, 44100).astype(np.float32)  # the same scene at 44.1 kHz
    assert snap(native, 44100, 4.0).start_s == pytest.approx(snap(scene, RATE, 4.0).start_s, abs=0.005)


def test_speech_probabilities_match_silero_s_own_loop():
    import torch

    from engine.grounding.speech import speech_probabilities
    from engine.voice.vad import load_vad_model

    samples = np.concatenate([np.zeros(RATE, np.float32), spoken("Hello there, how are you?")])
    samples += noise(len(samples) / RATE, 0.003)
    reference = load_vad_model().audio_forward(torch.from_numpy(samples)[None, :], RATE)[0].numpy()
    assert np.allclose(speech_probabilities(samples), reference, atol=1e-4)


def test_grounding_never_imports_torch():
    """Importing torch freezes the window for up to 180 ms: snapping must not need it."""
    script = (
        "import sys, numpy as np; from engine.grounding import snap; "
        "x = np.random.default_rng(0).normal(0, 0.01, 80000).astype(np.float32); x[40000:40400] += 0.5; "
        "assert snap(x, 16000, 2.0).kind == 'sound'; print('torch' in sys.modules)"
    )
    done = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, cwd=ROOT, timeout=120
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "False"


@pytest.mark.parametrize("kind", ["wav", "flac", "mp3"])
def test_a_file_is_read_a_stretch_at_a_time_in_the_recordings_time(tmp_path: Path, kind: str):
    from engine.audio import decode_audio
    from engine.grounding.file_audio import FileAudio

    t = np.arange(20 * 44100) / 44100
    wave = (0.3 * np.sin(2 * np.pi * 220 * t) * (0.6 + 0.4 * np.sin(2 * np.pi * 0.7 * t))).astype(np.float32)
    path = media.write_wav(tmp_path / "a.wav", wave, 44100) if kind == "wav" else (
        media.write_encoded(tmp_path / f"a.{kind}", wave, 44100, kind)
    )  # fmt: skip
    whole = decode_audio(path)
    stretch = FileAudio(path).read(12.25, 15.25)
    expected = whole[round(12.25 * RATE) : round(15.25 * RATE)]
    assert len(stretch) == len(expected)
    assert np.max(np.abs(stretch - expected)) < 0.03


def test_the_file_and_the_samples_snap_alike(tmp_path: Path):
    from engine.grounding.file_audio import FileAudio

    scene = put(put(noise(12.0, 0.01), 3.3, click()), 9.1, tone(0.4))
    path = media.write_wav(tmp_path / "scene.wav", scene, RATE, subtype="FLOAT")
    from_file, in_memory = Grounder(FileAudio(path)), Grounder(ArrayAudio(scene))
    for cited in (3.0, 9.0):
        assert from_file.snap(cited).start_s == pytest.approx(in_memory.snap(cited).start_s, abs=0.002)


def test_a_snapped_step_plays_from_just_before_its_event():
    scene = put(noise(10.0, 0.02), 5.63, click())
    step = Step(0, 5.0, 5.0, "A knock at [00:05].")
    grounded = ground_step(step, Grounder(ArrayAudio(scene)))
    assert grounded.snapped and grounded.snapped_start_s == pytest.approx(5.63, abs=0.03)
    assert (grounded.start_s, grounded.end_s) == (5.0, 5.0)  # the cited times stay
    assert play_start(grounded) == pytest.approx(grounded.snapped_start_s - PRE_ROLL_S)
    assert play_start(step) == 5.0 and play_start(unsnapped(grounded)) == 5.0
    unanchored = Step(1, None, None, "No time here.")
    assert ground_step(unanchored, Grounder(ArrayAudio(scene))) is unanchored


def test_a_step_with_nothing_near_keeps_its_time_with_no_confidence():
    step = ground_step(Step(0, 4.0, 4.0, "A bell at [00:04]."), Grounder(ArrayAudio(noise(10.0, 0.05))))
    assert not step.snapped and step.confidence == 0.0 and play_start(step) == 4.0


class LongRecording:
    """Three hours of faint noise with a knock at ``KNOCK_S``, made only where it is read."""

    duration_s = 3 * 3600.0
    KNOCK_S = 2 * 3600 + 17 * 60 + 41.37

    def __init__(self):
        self.read_s = 0.0

    def read(self, start_s: float, end_s: float) -> np.ndarray:
        self.read_s += end_s - start_s
        seed = int(start_s * 1000) % 2**32
        stretch = noise(end_s - start_s, 0.01, seed)
        offset = self.KNOCK_S - start_s
        return put(stretch, offset, click()) if 0 <= offset < end_s - start_s else stretch


def test_a_step_late_in_a_long_recording_snaps_in_absolute_time_reading_only_around_it():
    recording = LongRecording()
    cited = float(int(recording.KNOCK_S))  # 2:17:41, as a later window's step cites it once made absolute
    step = ground_step(Step(0, cited, cited, "A knock at [2:17:41]."), Grounder(recording))
    assert step.snapped_start_s == pytest.approx(recording.KNOCK_S, abs=0.03)
    assert recording.read_s < 30  # a few blocks, not three hours


def test_the_window_s_snapper_analyses_a_short_recording_ahead():
    from engine.grounding import StepSnapper

    class Counted(ArrayAudio):
        reads = 0

        def read(self, start_s: float, end_s: float) -> np.ndarray:
            Counted.reads += 1
            return super().read(start_s, end_s)

    snapper = StepSnapper()
    snapper.use(Counted(put(noise(30.0, 0.01), 21.37, click())), prepare=True).join(30)
    before = Counted.reads
    step = snapper.ground(Step(0, 21.0, 21.0, "A knock at [00:21]."))
    assert step.snapped_start_s == pytest.approx(21.37, abs=0.03)
    assert Counted.reads == before  # all analysed already
