"""The trainer window, offscreen, driving real runs of the trainer on the tiny model: validation
results, Start / Stop / Resume, a killed run resumed, the loss curve, and "Use this adapter"
reaching the next question's model choice."""

from __future__ import annotations

import json
import os
import signal
from pathlib import Path

import pytest

from bench.beeps import QUESTION, write_dataset
from engine.trainer.checkpoint import has_checkpoint

RUN = {
    "max_steps": 60,  # long enough that Stop or a kill lands mid-run on a busy machine
    "batch_size": 2,
    "grad_accum": 1,
    "checkpoint_every": 2,
    "eval_every": 10,
    "eval_fraction": 0.25,
    "learning_rate": 0.01,
    "lora_dropout": 0.0,
    "train_projector": True,
    "modules_to_save": ["lm_head", "norm"],
    "threads": 1,
}


@pytest.fixture(scope="module")
def beeps(tmp_path_factory) -> Path:
    return write_dataset(tmp_path_factory.mktemp("window-beeps"), clips=8, seed=4, seconds=(1.0, 2.0))


def wait(qtbot, condition, window, timeout_s: float) -> None:
    """Wait for ``condition``; on a timeout, say what the window's status line said."""
    try:
        qtbot.waitUntil(condition, timeout=int(timeout_s * 1000))
    except qtbot.TimeoutError:
        pytest.fail(f"timed out; the trainer window says: {window.status.text()!r}")


def click(qtbot, button) -> None:
    """Press a button as a user would; it must be enabled. (``click()``: the window is taller than the
    offscreen screen, where synthetic mouse events can miss a widget.)"""
    assert button.isEnabled(), button.text()
    button.click()


def open_trainer(qtbot, controller, dataset: Path, out: Path, tiny_model: Path):
    trainer = controller.open_trainer()
    window = trainer.window
    window.set_dataset(str(dataset))
    qtbot.waitUntil(lambda: window.start.isEnabled(), timeout=20_000)
    window.set_settings({**RUN, "model": str(tiny_model)})
    window.set_out(str(out))
    return trainer, window


def test_validation_lists_every_problem_with_its_line(app, qtbot, beeps, tmp_path):
    window, controller = app
    lines = beeps.read_text().splitlines()
    bad = tmp_path / "bad.jsonl"
    broken = json.loads(lines[2]) | {"answer": ""}
    bad.write_text("\n".join([lines[0], "{not json", json.dumps(broken), lines[0]]) + "\n")
    for record in map(json.loads, lines):
        (tmp_path / record["audio"]).parent.mkdir(exist_ok=True)
        (tmp_path / record["audio"]).write_bytes((beeps.parent / record["audio"]).read_bytes())
    trainer = controller.open_trainer()
    trainer.window.set_dataset(str(bad))
    qtbot.waitUntil(lambda: "problem" in trainer.window.validation.toPlainText(), timeout=20_000)
    text = trainer.window.validation.toPlainText()
    assert "line 2" in text and "line 3" in text and "line 4: duplicate of line 1" in text
    assert not trainer.window.start.isEnabled()

    trainer.window.set_dataset(str(beeps))
    qtbot.waitUntil(lambda: trainer.window.start.isEnabled(), timeout=20_000)
    assert "examples: 8" in trainer.window.validation.toPlainText()
    proposed = Path(trainer.window.out.text())
    assert (
        proposed.parent == Path(os.environ["HERON_HOME"]) / "data" / "adapters" and proposed.name == "train"
    )


@pytest.mark.slow
def test_start_stop_resume_then_use_the_adapter(app, qtbot, beeps, tiny_model, tmp_path):
    window, controller = app
    out = tmp_path / "beeps-adapter"
    trainer, tw = open_trainer(qtbot, controller, beeps, out, tiny_model)
    click(qtbot, tw.start)
    wait(qtbot, lambda: trainer.checkpoint_step >= 2 and len(tw.chart.train_points) >= 3, tw, 60)
    click(qtbot, tw.stop)
    wait(qtbot, lambda: not trainer.running, tw, 30)
    assert "Stopped at step" in tw.status.text() and has_checkpoint(out)
    assert tw.resume.isEnabled() and not tw.use.isEnabled()
    stopped_at = trainer.checkpoint_step

    click(qtbot, tw.resume)
    wait(qtbot, lambda: not trainer.running, tw, 120)
    assert tw.status.text().startswith("Done"), tw.status.text()
    steps = [step for step, _ in tw.chart.train_points]
    assert steps == list(range(1, RUN["max_steps"] + 1)), "resumed steps replace those after the checkpoint"
    assert stopped_at < RUN["max_steps"] and tw.chart.eval_points
    assert tw.readouts["step"].text() == f"{RUN['max_steps']}/{RUN['max_steps']}"

    asked = []
    real_ask = controller.bridge.ask
    controller.bridge.ask = lambda request: (asked.append(request), real_ask(request))
    click(qtbot, tw.use)
    assert controller.settings.adapter == str(out.resolve())
    assert window.adapter_label.text() == "Adapter: beeps-adapter" and window.base_model_button.isVisible()
    controller.ask(QUESTION)
    qtbot.waitUntil(lambda: not controller.bridge.busy and controller.turn_view is None, timeout=60_000)
    assert asked[-1].model.adapter == str(out.resolve())
    assert not window.chat.current.status.text().startswith("⚠"), window.chat.current.status.text()

    click(qtbot, window.base_model_button)
    assert controller.settings.adapter == "" and not window.adapter_label.isVisible()
    controller.ask("And now?")
    qtbot.waitUntil(lambda: not controller.bridge.busy and controller.turn_view is None, timeout=60_000)
    assert asked[-1].model.adapter is None


@pytest.mark.slow
def test_a_killed_run_says_so_and_resumes_from_its_checkpoint(app, qtbot, beeps, tiny_model, tmp_path):
    window, controller = app
    out = tmp_path / "killed"
    trainer, tw = open_trainer(qtbot, controller, beeps, out, tiny_model)
    controller.engine.start()  # an idle engine, holding memory training needs
    click(qtbot, tw.start)
    assert not controller.engine.is_running(), "the idle engine was stopped for training"
    wait(qtbot, lambda: trainer.checkpoint_step >= 2, tw, 60)
    os.kill(trainer.client.pid, signal.SIGKILL)
    wait(qtbot, lambda: not trainer.running, tw, 30)
    status = tw.status.text()
    assert (
        "stopped unexpectedly (killed by SIGKILL" in status and "Resume goes on from the checkpoint" in status
    )
    assert tw.resume.isEnabled()
    click(qtbot, tw.resume)
    wait(qtbot, lambda: not trainer.running, tw, 120)
    assert tw.status.text().startswith("Done"), tw.status.text()
    assert tw.use.isEnabled() and (out / "heron-adapter.json").is_file()


def test_model_manager_lists_adapters_with_use_and_remove(app, qtbot, tiny_model, heron_home, tmp_path):
    from tests.adapters import make_random_adapter

    window, controller = app
    folder = make_random_adapter(tiny_model, heron_home / "data" / "adapters" / "beeps", 1)
    controller.open_models()
    adapters = controller.models_dialog.adapters
    (row,) = adapters.rows()
    assert (row.name, row.base_model, row.path) == ("beeps", tiny_model.name, str(folder))
    assert row.metrics == "eval loss 0.500" and row.created and not row.in_use

    adapters.select(str(folder))
    click(qtbot, adapters.use)
    assert controller.settings.adapter == str(folder) and adapters.rows()[0].in_use
    assert window.adapter_label.text() == "Adapter: beeps"
    adapters.select(str(folder))
    assert not adapters.remove.isEnabled(), "the adapter in use cannot be removed"

    click(qtbot, adapters.base)
    assert controller.settings.adapter == "" and not adapters.rows()[0].in_use
    adapters.select(str(folder))
    click(qtbot, adapters.remove)
    assert not folder.exists() and adapters.rows() == [] and adapters.empty.isVisible()


def test_an_adapter_deleted_on_disk_falls_back_to_the_base_model(app, tmp_path):
    window, controller = app
    gone = tmp_path / "adapters" / "beeps"
    gone.mkdir(parents=True)
    controller.use_adapter(str(gone))
    gone.rmdir()
    assert controller.model_choice().adapter is None
    assert controller.settings.adapter == "" and "beeps is no longer on disk" in window.banner.text.text()
