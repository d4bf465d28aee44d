"""``heron open FILE`` (what the application menu's launcher runs) and the app's own files."""

from __future__ import annotations

import configparser
import os
import subprocess
import sys
import time
from pathlib import Path

from app.assets import DESKTOP_TEMPLATE, ICON
from app.cli import build_parser
from tests import media
from tests.cli import heron

ROOT = Path(__file__).resolve().parent.parent


def test_open_a_missing_file_says_so():
    result = heron("open", "no-such-recording.wav")
    assert result.status == 2
    assert result.stderr.strip() == (
        "heron: no-such-recording.wav does not exist: name an audio or video file to open."
    )


def test_open_a_device_or_a_pipe_says_what_it_is(tmp_path: Path):
    os.mkfifo(tmp_path / "pipe.wav")
    for path in ("/dev/zero", str(tmp_path / "pipe.wav")):
        result = heron("open", path, timeout=60)
        assert result.status == 2
        assert result.stderr.strip() == (
            f"heron: {path} is not a regular file (a device, pipe or socket): "
            "name an audio or video file to open."
        )


def test_open_shows_the_window_with_the_recording(heron_home: Path, tmp_path):
    recording = media.write_wav(tmp_path / "meeting.wav", media.tone(seconds=1.0), 16000)
    app = subprocess.Popen(
        [sys.executable, "-m", "app", "open", str(recording)],
        env={**os.environ, "QT_QPA_PLATFORM": "offscreen"},
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        recent = _wait_for_recent_files(heron_home / "config" / "heron.ini", app)
    finally:
        app.terminate()
        _, stderr = app.communicate(timeout=30)
    assert str(recording) in recent, stderr  # opened (decoded, drawn) and remembered as recent


def _wait_for_recent_files(ini: Path, app: subprocess.Popen, timeout: float = 60) -> str:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline and app.poll() is None:
        if ini.is_file():
            parser = configparser.ConfigParser(interpolation=None)
            parser.read(ini)
            if recent := parser.get("General", "recent_files", fallback=""):
                return recent
        time.sleep(0.2)
    return ""


def test_the_icon_is_shipped_and_loads(qapp):
    from PySide6.QtGui import QIcon

    icon = QIcon(str(ICON))
    assert not icon.isNull() and not icon.pixmap(64, 64).toImage().isNull()


def test_the_desktop_entry_runs_a_real_command():
    entry = configparser.ConfigParser(interpolation=None)
    entry.optionxform = str
    entry.read(DESKTOP_TEMPLATE)
    exec_line = entry["Desktop Entry"]["Exec"].split()
    assert exec_line[0] == "@EXEC@" and exec_line[-1] == "%f"
    command = exec_line[1]
    build_parser().parse_args([command, "recording.wav"])  # exits with status 2 if not a command
    assert entry["Desktop Entry"]["Icon"] == "@ICON@"


def test_help_opens_the_sample_recording_with_a_question_ready(qtbot):
    from app.assets import SAMPLE_QUESTION, SAMPLE_RECORDING
    from app.gui import build_window

    window, controller = build_window()
    qtbot.addWidget(window)
    sample_action = next(a for a in window.menuBar().actions() if a.text() == "&Help").menu().actions()[0]
    sample_action.trigger()
    qtbot.waitUntil(lambda: controller.recording == str(SAMPLE_RECORDING), timeout=20000)
    assert 30 < controller.player.duration < 40  # the 33-second meeting, decoded
    assert window.input.text.text() == SAMPLE_QUESTION
    controller.shutdown()
