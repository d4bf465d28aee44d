"""An answer's Markdown with every cited time a link of its own, and how it is drawn.

Each time the model cites becomes its own link, so two times in one sentence are two targets:
the time a step is anchored to links to that step (``step:N``, which plays its snapped event);
any other time links to itself (``t:SECONDS``). Times inside code, links and URLs stay as written.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from functools import lru_cache

from PySide6.QtGui import (
    QFont,
    QPalette,
    QTextCharFormat,
    QTextCursor,
    QTextDocument,
    QTextFormat,
    QTextFrameFormat,
    QTextTable,
    QTextTableCell,
)

from engine.events import Step
from engine.reasoning import Anchor, find_anchors
from ui.timefmt import anchor_label, snap_note

_GITHUB = QTextDocument.MarkdownFeature.MarkdownDialectGitHub.value
_NO_HTML = QTextDocument.MarkdownFeature.MarkdownNoHTML.value
_UNDERLINE = 0x4000  # md4c's MD_FLAG_UNDERLINE: models mean _x_ as emphasis, not underline
FEATURES = QTextDocument.MarkdownFeature((_GITHUB & ~_UNDERLINE) | _NO_HTML)  # raw HTML shows as text

_FENCE = re.compile(r"^ {0,3}(`{3,}|~{3,})", re.MULTILINE)
_NO_LINK_ZONES = re.compile(
    r"(`+)[^`]*?\1"  # an inline code span
    r"|\[[^\]\n]*\]\([^)\n]*\)"  # a Markdown link: its text and its address
    r"|<[a-z][a-z0-9+.-]*:[^>\s]*>"  # an autolink
    r"|\b(?:https?|ftp)://\S+",  # a bare URL
    re.IGNORECASE,
)
_OUR_LINK = re.compile(r"\[((?:\\.|[^\]\\])*)\]\((?:step|t):")  # a link this module wrote
_LINK_TEXT_ESCAPE = re.compile(r"\\(.)")
_MARKDOWN_PUNCTUATION = re.compile(r"([\\`*_{}\[\]()#+\-.!<>|~\"])")


def linked_markdown(text: str, steps: Iterable[Step]) -> str:
    """``text`` with each time cited by one of its ``steps`` written as a Markdown link."""
    links = sorted(_links(text, steps))
    pieces, last = [], 0
    for start, end, href, title in links:
        if start < last:
            continue
        pieces.append(text[last:start])
        pieces.append(f'[{_escape(text[start:end])}]({href} "{title.replace(chr(34), chr(39))}")')
        last = end
    pieces.append(text[last:])
    return hard_line_breaks("".join(pieces))


def _links(text: str, steps: Iterable[Step]) -> Iterable[tuple[int, int, str, str]]:
    """(start, end, href, title) for every cited time of the answer's steps, outside code and links."""
    blocked = _blocked_spans(text)
    for step in steps:
        if step.char_end > len(text) or text[step.char_start : step.char_end] != step.text:
            continue  # a step of another version of the text (the stream moved on): no stale link
        anchors = _anchors(step.text)
        own = next((a for a in anchors if a.start_s == step.start_s), anchors[0] if anchors else None)
        for anchor in anchors:
            start, end = _with_brackets(
                text, step.char_start + anchor.char_start, step.char_start + anchor.char_end
            )
            if not any(start < b_end and b_start < end for b_start, b_end in blocked):
                yield start, end, *_target(step, anchor, own)


@lru_cache(maxsize=1024)
def _anchors(text: str) -> tuple[Anchor, ...]:
    """The times a step's text cites (a streaming answer is linked ~30 times a second)."""
    return tuple(find_anchors(text))


def _target(step: Step, anchor: Anchor, own: Anchor | None) -> tuple[str, str]:
    """The link of one cited time: its step (which plays the snapped event) or the bare time."""
    if anchor is own:
        return f"step:{step.index}", snap_note(
            step
        ) if step.snapped else f"Play from {anchor_label(step.start_s, step.end_s)}"
    return f"t:{anchor.start_s}", f"Play from {anchor_label(anchor.start_s, anchor.end_s)}"


def _with_brackets(text: str, start: int, end: int) -> tuple[int, int]:
    """A bracketed time ("[00:12]") links as a whole, brackets and all."""
    if text[start - 1 : start] == "[" and text[end : end + 1] == "]":
        return start - 1, end + 1
    return start, end


def _blocked_spans(text: str) -> list[tuple[int, int]]:
    """Where a link must not go: fenced code blocks, code spans, links and URLs."""
    spans, fences = [], list(_FENCE.finditer(text))
    for opening, closing in zip(fences[::2], fences[1::2] + [None], strict=False):
        spans.append((opening.start(), closing.end() if closing else len(text)))
    spans += [m.span() for m in _NO_LINK_ZONES.finditer(text)]
    return spans


def _escape(label: str) -> str:
    return _MARKDOWN_PUNCTUATION.sub(r"\\\1", label)


def hard_line_breaks(markdown: str) -> str:
    """A single newline breaks the line, as the model meant it (Markdown would join the lines);
    code blocks are left alone."""
    lines, in_code = markdown.split("\n"), False
    for i, line in enumerate(lines[:-1]):
        if _FENCE.match(line):
            in_code = not in_code
        elif not in_code and line.strip() and lines[i + 1].strip() and not line.endswith("  "):
            lines[i] = line + "  "
    return "\n".join(lines)


def render(document: QTextDocument, markdown: str, palette: QPalette) -> None:
    """``markdown`` into ``document``: links underlined, code blocks shaded and wrapped (the chat
    never scrolls sideways), headings spaced, in ``palette``'s colours."""
    document.setUndoRedoEnabled(False)  # an answer is never edited: recording each change costs
    document.setMarkdown(markdown, FEATURES)
    if "```" in markdown or "~~~" in markdown or "#" in markdown:  # a walk over every block costs
        block = document.begin()
        while block.isValid():
            if block.blockFormat().hasProperty(QTextFormat.Property.BlockCodeFence):
                _shade_code(block, palette)
            elif block.blockFormat().headingLevel():
                _space_heading(block)
            block = block.next()
    _underline_links(document, [_LINK_TEXT_ESCAPE.sub(r"\1", m[1]) for m in _OUR_LINK.finditer(markdown)])
    for frame in document.rootFrame().childFrames():
        if isinstance(frame, QTextTable):
            _tidy_table(frame, palette)


def _space_heading(block) -> None:
    """A heading sits closer to what it heads than to what came before."""
    fmt = block.blockFormat()
    fmt.setTopMargin(12)
    fmt.setBottomMargin(4)
    QTextCursor(block).setBlockFormat(fmt)


def _tidy_table(table: QTextTable, palette: QPalette) -> None:
    """Thin borders in the palette's colour, the header bold, cells without paragraph gaps."""
    fmt = table.format()
    fmt.setBorderStyle(QTextFrameFormat.BorderStyle.BorderStyle_Solid)
    fmt.setBorderBrush(palette.color(QPalette.ColorRole.Mid))
    table.setFormat(fmt)
    bold = QTextCharFormat()
    bold.setFontWeight(QFont.Weight.Bold)
    for row in range(table.rows()):
        for column in range(table.columns()):
            cursor = _cell_text(table.cellAt(row, column))
            block_format = cursor.blockFormat()
            block_format.setTopMargin(0)
            block_format.setBottomMargin(0)
            cursor.mergeBlockFormat(block_format)
            if row == 0:
                cursor.mergeCharFormat(bold)


def _cell_text(cell: QTextTableCell) -> QTextCursor:
    """A cursor over the cell's text, less the empty paragraph Qt's importer may put first."""
    cursor = cell.firstCursorPosition()
    if not cursor.block().text() and cursor.block().next().position() <= cell.lastCursorPosition().position():
        cursor.deleteChar()
    cursor.setPosition(cell.lastCursorPosition().position(), QTextCursor.MoveMode.KeepAnchor)
    return cursor


def _shade_code(block, palette: QPalette) -> None:
    fmt = block.blockFormat()
    fmt.setNonBreakableLines(False)
    fmt.setBackground(palette.color(QPalette.ColorRole.AlternateBase))
    fmt.setLeftMargin(6)
    fmt.setRightMargin(6)
    QTextCursor(block).setBlockFormat(fmt)


def _underline_links(document: QTextDocument, labels: list[str]) -> None:
    """Links are told apart by more than their colour. Each label is looked for after the last
    (Qt's search, not a walk over every piece of text)."""
    underline = QTextCharFormat()
    underline.setFontUnderline(True)
    cursor = QTextCursor(document)
    for label in labels:
        found = document.find(label, cursor)
        while not found.isNull() and not found.charFormat().isAnchor():
            found = document.find(label, found)  # the same text outside a link (in code, say)
        if found.isNull():
            return
        found.mergeCharFormat(underline)
        cursor = found
