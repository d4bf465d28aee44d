"""``heron ask``: steps come out snapped (--json and the history), or as cited with --no-snap."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from engine.events import Done, Event, Step, TextDelta, ThinkDelta
from engine.history import HistoryStore
from tests import media
from tests.scenes import RATE, click, noise, put, spoken

KNOCK_S, SPEECH_S = 5.63, 2.37
STEPS = (
    Step(0, 2.0, 2.0, 'He says "please close the door" at [00:02].', 0, 44),
    Step(1, 5.0, 5.0, "A knock at [00:05].", 45, 64),
    Step(2, None, None, "So someone is at the door.", 65, 91),
)


class ScriptedEngine:
    """Answers every question with the same reasoning steps (the tiny model's text is random)."""

    def ask(self, request) -> Iterator[Event]:
        yield ThinkDelta(" ".join(s.text for s in STEPS))
        yield from STEPS
        yield TextDelta("Someone knocks.")
        yield Done({"finish": "stop", "new_tokens": 3})

    def cancel(self) -> None:
        pass

    def shutdown(self) -> None:
        pass


@pytest.fixture
def scene(tmp_path: Path) -> Path:
    samples = put(put(noise(10.0, 0.003), SPEECH_S, spoken("Please close the door.")), KNOCK_S, click())
    return media.write_wav(tmp_path / "door.wav", samples, RATE)


def ask(monkeypatch, capsys, *args: str) -> list[dict]:
    import json

    import app.engines
    from app.cli import main

    monkeypatch.setattr(app.engines, "open_engine", lambda *a, **k: ScriptedEngine())
    assert main(["ask", *args, "--json", "--server", "http://127.0.0.1:9"]) == 0
    return [json.loads(line) for line in capsys.readouterr().out.splitlines()]


def history_steps() -> tuple[Step, ...]:
    from app import paths

    with HistoryStore(paths.history_path()) as store:
        (summary,) = store.list_conversations()
        return store.get_conversation(summary.id).turns[-1].steps


def test_json_steps_carry_the_snapped_times_next_to_the_cited_ones(monkeypatch, capsys, scene: Path):
    steps = [e for e in ask(monkeypatch, capsys, str(scene), "Who is there?") if e["type"] == "step"]
    speech, knock, unanchored = steps
    assert (speech["start_s"], knock["start_s"]) == (2.0, 5.0)
    assert speech["snapped_start_s"] == pytest.approx(SPEECH_S, abs=0.06)
    assert knock["snapped_start_s"] == pytest.approx(KNOCK_S, abs=0.03)
    assert knock["snapped_end_s"] >= knock["snapped_start_s"] and 0 < knock["confidence"] <= 1
    assert unanchored["snapped_start_s"] is None and unanchored["confidence"] is None
    assert history_steps()[1].snapped_start_s == knock["snapped_start_s"]  # the history keeps them


def test_no_snap_keeps_the_cited_times(monkeypatch, capsys, scene: Path):
    steps = [e for e in ask(monkeypatch, capsys, str(scene), "Who?", "--no-snap") if e["type"] == "step"]
    assert [s["snapped_start_s"] for s in steps] == [None, None, None]
    assert [s["start_s"] for s in steps] == [2.0, 5.0, None]


def test_a_follow_up_snaps_against_the_conversations_recording(monkeypatch, capsys, scene: Path):
    ask(monkeypatch, capsys, str(scene), "Who is there?")
    from app import paths

    with HistoryStore(paths.history_path()) as store:
        (summary,) = store.list_conversations()
    steps = [
        e for e in ask(monkeypatch, capsys, "--continue", str(summary.id), "And then?") if e["type"] == "step"
    ]
    assert steps[1]["snapped_start_s"] == pytest.approx(KNOCK_S, abs=0.03)
