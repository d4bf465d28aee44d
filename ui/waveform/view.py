"""Viewport math for the waveform: which seconds the widget shows and where they land in x.

Pure Python (no Qt) so it is easy to test: the widget owns one ``Viewport`` and asks it to zoom,
pan and convert between seconds and logical pixels.
"""

from __future__ import annotations

from dataclasses import dataclass

from engine.audio import SAMPLE_RATE

MAX_PX_PER_SECOND = SAMPLE_RATE * 4  # deepest zoom: one 16 kHz sample spans 4 pixels
SHOW_MARGIN = 0.1  # show_time() leaves this fraction of the view before the time it brings in


@dataclass
class Viewport:
    duration: float = 0.0  # seconds in the recording
    width: int = 1  # logical pixels across
    start: float = 0.0  # seconds at x = 0
    span: float = 0.0  # seconds across the width

    @property
    def end(self) -> float:
        return self.start + self.span

    @property
    def min_span(self) -> float:
        return self.width / MAX_PX_PER_SECOND

    @property
    def zoom(self) -> float:
        """How many times the whole recording is magnified (1 when it all fits)."""
        return self.duration / self.span if self.span > 0 else 1.0

    @property
    def shows_all(self) -> bool:
        return self.span >= self.duration

    def x_of(self, seconds: float) -> float:
        return (seconds - self.start) / self.span * self.width if self.span > 0 else 0.0

    def time_at(self, x: float) -> float:
        return self.start + x / self.width * self.span

    def reset(self, duration: float) -> None:
        """A new recording: show all of it."""
        self.duration = max(duration, 0.0)
        self.start, self.span = 0.0, self.duration
        self._clamp()

    def resize(self, width: int) -> None:
        """Keep the seconds per pixel (a wider widget shows more) unless everything was shown."""
        width = max(int(width), 1)
        fit = self.shows_all
        self.span = self.duration if fit else self.span * width / self.width
        self.width = width
        self._clamp()

    def set_range(self, start: float, end: float) -> None:
        self.start, self.span = start, end - start
        self._clamp()

    def zoom_at(self, factor: float, x: float) -> None:
        """Magnify by ``factor`` (>1 zooms in) keeping the time under ``x`` where it is."""
        anchor = self.time_at(x)
        self.span = self._clamped_span(self.span / factor)
        self.start = anchor - x / self.width * self.span
        self._clamp()

    def pan_px(self, dx: float) -> None:
        """Move the view right by ``dx`` pixels' worth of time (negative moves left)."""
        self.start += dx * self.span / self.width
        self._clamp()

    def show(self, seconds: float) -> bool:
        """Scroll so ``seconds`` is visible (near the left, with a margin); True if it moved."""
        if self.start <= seconds <= self.end:
            return False
        self.start = seconds - SHOW_MARGIN * self.span
        self._clamp()
        return True

    def _clamped_span(self, span: float) -> float:
        return min(max(span, self.min_span), max(self.duration, self.min_span))

    def _clamp(self) -> None:
        self.span = self._clamped_span(self.span)
        self.start = min(max(self.start, 0.0), max(self.duration - self.span, 0.0))
