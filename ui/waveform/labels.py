"""Short texts (ruler times, step numbers) laid out once and reused on every redraw."""

from __future__ import annotations

from PySide6.QtGui import QFont, QFontMetricsF, QStaticText

LIMIT = 512  # a view shows a few dozen labels; forget them all when this many pile up


class Labels:
    """QStaticText and widths per string, for one font (drawn with the painter set to that font)."""

    def __init__(self, font: QFont | None = None):
        self._reset(font if font is not None else QFont())

    def _reset(self, font: QFont) -> None:
        self._font = QFont(font)
        self._metrics = QFontMetricsF(self._font)
        self._texts: dict[str, QStaticText] = {}
        self._widths: dict[str, float] = {}

    @property
    def font(self) -> QFont:
        return self._font

    @property
    def height(self) -> float:
        return self._metrics.height()

    def set_font(self, font: QFont) -> None:
        if font != self._font:
            self._reset(font)

    def text(self, label: str) -> QStaticText:
        text = self._texts.get(label)
        if text is None:
            if len(self._texts) >= LIMIT:
                self._texts.clear()
            text = self._texts[label] = QStaticText(label)
            text.setPerformanceHint(QStaticText.PerformanceHint.AggressiveCaching)
            text.prepare(font=self._font)
        return text

    def width(self, label: str) -> float:
        width = self._widths.get(label)
        if width is None:
            if len(self._widths) >= LIMIT:
                self._widths.clear()
            width = self._widths[label] = self._metrics.horizontalAdvance(label)
        return width
