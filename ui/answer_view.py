"""An answer in the chat's own flow: Markdown, no frame, no scrollbar of its own, as tall as its text."""

from __future__ import annotations

import math
import time

from PySide6.QtCore import QEvent, Qt
from PySide6.QtGui import QGuiApplication, QPalette, QTextDocument, QTextOption
from PySide6.QtWidgets import QFrame, QSizePolicy, QTextBrowser

from ui.markdown import render

WRAP = QTextOption.WrapMode.WrapAtWordBoundaryOrAnywhere  # a long word wraps too: no sideways scroll
# The app's style sheet draws every QTextEdit as an input field; an answer is read, not typed in.
LOOK = """
QTextBrowser { background: transparent; border: none; padding: 0; margin: 0; }
QTextBrowser:focus { border: none; padding: 0; }
"""


def colours(palette: QPalette) -> tuple:
    """The colours a rendered answer bakes in: links (Qt's importer takes the app's) and code."""
    return QGuiApplication.palette().color(QPalette.ColorRole.Link).rgba(), palette.color(
        QPalette.ColorRole.AlternateBase
    ).rgba()


class AnswerView(QTextBrowser):
    """Selectable, copyable text whose links (``step:N``, ``t:SECONDS``) emit ``anchorClicked``."""

    def __init__(self, parent=None):
        super().__init__(parent)
        self.setOpenLinks(False)
        self.setOpenExternalLinks(False)
        self.setFrameShape(QFrame.Shape.NoFrame)
        self.setStyleSheet(LOOK)
        self.viewport().setAutoFillBackground(False)
        self.setVerticalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        self.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        self.setWordWrapMode(WRAP)
        self.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Fixed)
        self.document().setDocumentMargin(2)
        self.markdown = ""
        self._stale = False  # rendered while hidden: render when shown
        self._colours: tuple = ()  # the palette colours the shown document was drawn in
        self.render_s = 0.0  # how long the last render took: the streaming turn paces itself by it
        self.setFixedHeight(0)

    def show_markdown(self, markdown: str) -> None:
        """Render into a fresh document, then swap it in: half the cost of editing the shown one,
        which relays itself out at every change (the old one, a child, is deleted). A hidden
        answer (a turn just added) renders when shown, once."""
        self.markdown = markdown
        if not self.isVisible():
            self._stale = True
            return
        started = time.perf_counter()
        self._stale = False
        self._colours = colours(self.palette())
        document = QTextDocument(self)
        document.setDocumentMargin(2)
        document.setDefaultFont(self.font())
        document.setDefaultTextOption(QTextOption(Qt.AlignmentFlag.AlignLeft, wrapMode=WRAP))
        render(document, markdown, self.palette())
        self.setDocument(document)
        self.fit_height()
        self.render_s = time.perf_counter() - started

    def fit_height(self) -> None:
        """As tall as the text at the current width: the chat scrolls, never the answer. Not before
        it is shown: a turn just added has no width yet, and laying out at a guess costs twice."""
        if not self.isVisible():
            return
        document = self.document()
        document.setTextWidth(self.viewport().width())
        chrome = 2 * self.frameWidth() + self.contentsMargins().top() + self.contentsMargins().bottom()
        height = math.ceil(document.size().height()) + chrome if self.markdown else 0
        if height != self.height():
            self.setFixedHeight(height)

    def resizeEvent(self, event) -> None:  # noqa: N802 (Qt's name)
        super().resizeEvent(event)
        if event.oldSize().width() != event.size().width():
            self.fit_height()

    def showEvent(self, event) -> None:  # noqa: N802 (Qt's name)
        super().showEvent(event)
        if self._stale:
            self.show_markdown(self.markdown)
        else:
            self.fit_height()

    def wheelEvent(self, event) -> None:  # noqa: N802 (Qt's name)
        event.ignore()  # to the chat around it: one scroll

    def changeEvent(self, event) -> None:  # noqa: N802 (Qt's name)
        super().changeEvent(event)
        if (
            event.type() == QEvent.Type.PaletteChange
            and self.markdown
            and colours(self.palette()) != self._colours
        ):
            self.show_markdown(self.markdown)  # link and code colours follow a theme switch
