"""The waveform's colours, taken from the widget's palette so light and dark themes both work."""

from __future__ import annotations

from dataclasses import dataclass

from PySide6.QtGui import QColor, QPalette

# Hues the palette has no role for: steps are amber, errors red; each has a light and dark variant.
STEP_HUE = {False: "#c77700", True: "#ffb74d"}
ERROR_HUE = {False: "#c62828", True: "#ff6b6b"}


@dataclass(frozen=True)
class Colors:
    background: QColor
    ruler: QColor
    ruler_ink: QColor
    wave: QColor
    region: QColor
    region_hot: QColor
    step: QColor
    error: QColor
    error_region: QColor
    error_region_hot: QColor
    flag_ink: QColor
    answer: QColor  # the answer's times: the palette's link colour, apart from the reasoning's amber
    raw_tick: QColor  # where a snapped step was cited: faint
    playhead: QColor
    focus: QColor
    placeholder: QColor

    @classmethod
    def from_palette(cls, palette: QPalette) -> Colors:
        base = palette.color(QPalette.ColorRole.Base)
        dark = base.lightness() < 128
        step, error = QColor(STEP_HUE[dark]), QColor(ERROR_HUE[dark])
        return cls(
            background=base,
            ruler=palette.color(QPalette.ColorRole.Window),
            ruler_ink=palette.color(QPalette.ColorRole.WindowText),
            wave=palette.color(QPalette.ColorRole.Highlight),
            region=_alpha(step, 0.22),
            region_hot=_alpha(step, 0.45),
            step=step,
            error=error,
            error_region=_alpha(error, 0.18),
            error_region_hot=_alpha(error, 0.4),
            flag_ink=QColor("#000000") if dark else QColor("#ffffff"),
            answer=palette.color(QPalette.ColorRole.Link),
            raw_tick=_alpha(step, 0.55),
            playhead=palette.color(QPalette.ColorRole.Text),
            focus=palette.color(QPalette.ColorRole.Highlight),
            placeholder=palette.color(QPalette.ColorRole.PlaceholderText),
        )


def _alpha(color: QColor, alpha: float) -> QColor:
    faded = QColor(color)
    faded.setAlphaF(alpha)
    return faded
