"""The bar under the waveform: play/pause, where playback is and how long the recording is, zoom to fit.

It follows the waveform it is given (``playhead_moved``, ``duration_changed``, ``view_changed``)
and asks for playback with ``play_pause_requested``; the app tells it whether the player plays
(``set_playing``). Colours come from the palette, so the light and dark themes both work.
"""

from __future__ import annotations

from PySide6.QtCore import Qt, Signal, Slot
from PySide6.QtWidgets import QHBoxLayout, QLabel, QStyle, QToolButton, QWidget

from engine.timefmt import clock
from ui.waveform.widget import WaveformView


class PlaybackBar(QWidget):
    play_pause_requested = Signal()

    def __init__(self, waveform: WaveformView, parent: QWidget | None = None):
        super().__init__(parent)
        self._waveform = waveform
        self._playing, self._position, self._duration = False, 0.0, 0.0
        self.play_button = QToolButton(self)
        self.play_button.clicked.connect(self.play_pause_requested)
        self.time_label = QLabel(self)
        self.time_label.setAccessibleName("Playback time")
        self.time_label.setTextInteractionFlags(Qt.TextInteractionFlag.NoTextInteraction)
        self.fit_button = QToolButton(self)
        self.fit_button.setText("Zoom to fit")
        self.fit_button.setAccessibleName("Zoom to fit")
        self.fit_button.setToolTip("Show the whole recording (0)")
        self.fit_button.setToolButtonStyle(Qt.ToolButtonStyle.ToolButtonTextBesideIcon)
        self.fit_button.clicked.connect(waveform.zoom_to_fit)
        layout = QHBoxLayout(self)
        layout.setContentsMargins(0, 2, 0, 2)
        layout.addWidget(self.play_button)
        layout.addWidget(self.time_label)
        layout.addStretch(1)
        layout.addWidget(self.fit_button)
        self.setAccessibleName("Playback")
        waveform.playhead_moved.connect(self.set_position)
        waveform.duration_changed.connect(self.set_duration)
        waveform.view_changed.connect(self._view_changed)
        self.set_playing(False)
        self.set_duration(waveform.duration)

    @Slot(bool)
    def set_playing(self, playing: bool) -> None:
        self._playing = playing
        icon = QStyle.StandardPixmap.SP_MediaPause if playing else QStyle.StandardPixmap.SP_MediaPlay
        self.play_button.setIcon(self.style().standardIcon(icon))
        name = "Pause" if playing else "Play"
        self.play_button.setAccessibleName(name)
        self.play_button.setToolTip(f"{name} (Space on the waveform)")

    @Slot(float)
    def set_position(self, seconds: float) -> None:
        if abs(seconds - self._position) >= 0.05 or seconds == 0.0:
            self._position = seconds
            self._show_time()

    @Slot(float)
    def set_duration(self, seconds: float) -> None:
        self._duration = seconds
        self.play_button.setEnabled(seconds > 0)
        self._show_time()
        self._view_changed()

    def _show_time(self) -> None:
        hours = self._duration >= 3600
        now, length = clock(self._position, hours=hours), clock(self._duration, hours=hours)
        self.time_label.setText(f"{now} / {length}")
        self.time_label.setAccessibleDescription(f"At {now} of {length}")

    @Slot()
    def _view_changed(self, *_) -> None:
        start, end = self._waveform.visible_range()
        self.fit_button.setEnabled(self._duration > 0 and (start > 0 or end < self._duration))
