"""The desktop window opens and takes a recording by drag-and-drop."""

from __future__ import annotations

from PySide6.QtCore import QMimeData, QPointF, Qt, QUrl
from PySide6.QtGui import QDropEvent

from ui.main_window import MainWindow


def test_window_opens_with_its_menus(qtbot):
    window = MainWindow("1.2.3")
    qtbot.addWidget(window)
    window.show()
    assert window.windowTitle() == "Heron"
    menus = [a.text() for a in window.menuBar().actions()]
    assert menus == ["&File", "&Help"]


def test_dropping_a_file_opens_it(qtbot, tmp_path):
    window = MainWindow("1.2.3")
    qtbot.addWidget(window)
    recording = tmp_path / "talk.wav"
    recording.write_bytes(b"RIFF")
    data = QMimeData()
    data.setUrls([QUrl.fromLocalFile(str(recording))])
    drop = QDropEvent(QPointF(10, 10), Qt.DropAction.CopyAction, data, Qt.MouseButton.NoButton,
                      Qt.KeyboardModifier.NoModifier)
    with qtbot.waitSignal(window.recording_chosen) as signal:
        window.dropEvent(drop)
    assert signal.args == [str(recording)]
    assert str(recording) in window.status.text()


def test_the_window_module_does_not_import_the_model_stack():
    import subprocess
    import sys

    code = "import ui.main_window, sys; print('torch' in sys.modules, 'transformers' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.split() == ["False", "False"]
