"""The smaller commands: --version, doctor, models, and the app with no display."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from engine import __version__
from tests.cli import heron


def test_version():
    result = heron("--version")
    assert result.status == 0 and result.stdout.strip() == f"heron {__version__}"


def test_doctor_reports_each_area_with_fixes():
    result = heron("doctor")
    assert result.status in (0, 1), result.stderr
    for area in ("Python", "PyTorch", "CUDA GPU", "bitsandbytes", "transformers", "Sound devices", "Models"):
        assert f" {area}:" in result.stdout, area
    assert "fix: heron models download instruct" in result.stdout  # a fresh HERON_HOME has no model


def test_models_list_shows_every_checkpoint_with_its_licence():
    result = heron("models", "list")
    assert result.status == 0
    for repo in (
        "audio-flamingo-next-hf",
        "audio-flamingo-next-think-hf",
        "audio-flamingo-next-captioner-hf",
    ):
        assert repo in result.stdout
    assert result.stdout.count("non-commercial") == 3


def test_models_path_of_a_missing_model_says_how_to_get_it():
    result = heron("models", "path", "captioner")
    assert result.status == 2
    assert "heron models download captioner" in result.stderr


def test_models_path_of_an_installed_model(heron_home: Path, tiny_model: Path):
    installed = heron_home / "data" / "models" / "think"
    installed.mkdir(parents=True)
    for item in tiny_model.iterdir():
        (installed / item.name).symlink_to(item)
    (installed / ".heron-complete").write_text("ok")
    result = heron("models", "path", "think")
    assert result.status == 0, result.stderr
    assert result.stdout.strip() == str(installed)


def test_app_without_a_display_says_so(monkeypatch):
    result = heron(env={"DISPLAY": "", "WAYLAND_DISPLAY": "", "QT_QPA_PLATFORM": ""})
    assert result.status == 2
    assert result.stderr.strip() == (
        "heron: No display found: start Heron from a desktop session, or use `heron ask` in a terminal."
    )


def test_verbose_may_follow_the_command():
    for args in (("--verbose", "history", "show", "99"), ("history", "show", "99", "--verbose")):
        result = heron(*args)
        assert result.status == 2
        assert "Traceback" in result.stderr, args  # --verbose's traceback, not an unknown argument
        assert result.stderr_lines[-1].startswith("heron: ") and "99" in result.stderr_lines[-1]
    quiet = heron("history", "show", "99")
    assert quiet.status == 2 and "Traceback" not in quiet.stderr


def test_a_reader_that_has_gone_ends_the_command_quietly(heron_home: Path):
    from app import paths
    from engine.history import HistoryStore

    with HistoryStore(paths.history_path()) as store:
        for n in range(3):
            store.create_conversation(f"talk {n}")
    reader, writer = os.pipe()
    os.close(reader)  # as `| head -1` does once it has its line
    try:
        done = subprocess.run(
            [sys.executable, "-m", "app", "history", "list"],
            stdout=writer,
            stderr=subprocess.PIPE,
            timeout=60,
        )
    finally:
        os.close(writer)
    assert done.stderr.decode() == ""
    assert done.returncode == 141  # as for `cat` killed by SIGPIPE
