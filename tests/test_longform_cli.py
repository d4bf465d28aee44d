"""A three-hour recording, end to end through ``heron ask --think --json``."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import soundfile

from tests import media
from tests.cli import heron

HOURS = 3


def write_three_hours(path: Path) -> Path:
    """Speech and pauses, written a minute at a time: the file never sits whole in memory."""
    sentence = media.speech("Here is another minute of the long meeting, with a pause after it.")
    pause = np.zeros(16000 * 2, np.float32)
    minute = np.resize(np.concatenate([sentence, pause]), 60 * 16000).astype(np.float32)
    with soundfile.SoundFile(path, "w", 16000, 1, "PCM_16") as out:
        for _ in range(HOURS * 60):
            out.write(minute)
    return path


@pytest.mark.slow
def test_three_hour_recording_runs_to_done_with_progress(tiny_model: Path, tmp_path: Path):
    recording = write_three_hours(tmp_path / "meeting.wav")
    result = heron("ask", str(recording), "What is discussed?", "--think", "--json", "--model", str(tiny_model),
                   "--max-new-tokens", "8", timeout=1500)  # fmt: skip
    assert result.status == 0, result.stderr
    events = result.events
    done = events[-1]
    assert done["type"] == "done" and done["stats"]["windows"] >= 6  # cuts fall before each 30-min limit
    assert done["stats"]["audio_s"] == pytest.approx(HOURS * 3600, abs=0.1)
    stages = {e["stage"] for e in events if e["type"] == "progress"}
    assert {"plan_windows", "windows"} <= stages
    assert "decode_audio" not in stages, "the file is read a window at a time, never decoded whole"
    window_steps = [e for e in events if e["type"] == "step" and e["text"].startswith("Part ")]
    assert [round(e["start_s"]) for e in window_steps][:1] == [0]
    assert all(0 <= e["start_s"] <= e["end_s"] <= HOURS * 3600 for e in window_steps)
    assert max(e["end_s"] for e in window_steps) == pytest.approx(HOURS * 3600, abs=1)
