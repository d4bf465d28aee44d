"""Tell what a line of a reasoning chain is: blank, a list item, a heading, or plain text.

A line can be classified before its newline arrives once it is ``DECIDE_AFTER`` characters
long: every marker pattern below is bounded in length, so later characters cannot change the
verdict. That lets the incremental parser act on a long first line while it still streams.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from enum import Enum


class Kind(Enum):
    BLANK = "blank"
    ITEM = "item"  # "1." "2)" "(3)" "-" "*" "+" "•"
    HEADING = "heading"  # "Step 3:", "**Step 3:**", "### Step 3", any markdown heading
    PLAIN = "plain"


@dataclass(frozen=True)
class Line:
    kind: Kind
    content: int  # where the line's text starts, after its marker (an index into the buffer)
    markdown: bool = False  # a "#" heading: always a title


# Whitespace only, or a rule such as "---" or "***" between sections.
_BLANK = re.compile(r"\s*(?:([-*_=])\1{2,}\s*)?")
# Every quantifier is bounded so that a match never needs more than DECIDE_AFTER characters.
_ITEM = re.compile(r"[ \t]{0,8}(?:[-*+•‣◦▪]|[0-9]{1,3}[.)]|\([0-9]{1,3}\))(?:[ \t]|$)")
_STEP_LABEL = re.compile(
    r"""[ \t]{0,8} (?:\#{1,6}[ \t]{1,4})? (?:\*\*|__)?
    step [ \t]{0,3} [0-9]{1,3} (?![0-9])
    (?: [ \t]{0,3} [:.)\-–—] (?![0-9]) )? (?:\*\*|__)?""",
    re.VERBOSE | re.IGNORECASE | re.ASCII,  # ASCII: "ſtep" must not match case-insensitively
)
_MD_HEADING = re.compile(r"[ \t]{0,3}#{1,6}(?:[ \t]|$)")
_BLANKISH = frozenset(" \t\r\f\v-*_=")  # characters a blank line may still turn out to be made of
_MARKER_STARTS = frozenset("#*_sS-+•‣◦▪(0123456789")  # first characters of every marker above
_MAX_INDENT = 8
_LABEL_SETTLES_AFTER = 8  # the label's optional tail (" :", "**") reads at most 7 characters on
DECIDE_AFTER = 64  # longer than any marker match above, plus one character of look-ahead
MAX_BLANK = 256  # a longer line is never blank: bounds the wait (and the work) on a degenerate one


def classify(buf: str, start: int, end: int, complete: bool) -> Line | None:
    """Classify ``buf[start:end]``; None while a partial line cannot be told yet."""
    return _classify_line(buf, start, end) if complete else _classify_prefix(buf, start, end)


def _classify_line(buf: str, start: int, end: int) -> Line:
    if end - start <= MAX_BLANK and _BLANK.fullmatch(buf, start, end):
        return Line(Kind.BLANK, end)
    marker = _STEP_LABEL.match(buf, start, end) or _MD_HEADING.match(buf, start, end)
    if marker:
        return Line(Kind.HEADING, marker.end(), "#" in marker.group())
    marker = _ITEM.match(buf, start, end)
    if marker:
        return Line(Kind.ITEM, marker.end())
    return Line(Kind.PLAIN, start)


def _classify_prefix(buf: str, start: int, end: int) -> Line | None:
    """What the whole line will be, when its first characters already settle it."""
    first = _first_non_indent(buf, start, end)
    if first is not None and first not in _MARKER_STARTS and first not in _BLANKISH and not first.isspace():
        return Line(Kind.PLAIN, start)  # "At 0:05 …": no marker or rule starts with that
    label = _STEP_LABEL.match(buf, start, end)
    if label and end - label.end() >= _LABEL_SETTLES_AFTER:
        return Line(Kind.HEADING, label.end(), "#" in label.group())
    item = _ITEM.match(buf, start, end)
    if item and buf[item.end() - 1] in " \t":
        return Line(Kind.ITEM, item.end())  # "2. " is final; "2." may yet be "2.5 s"
    if end - start < DECIDE_AFTER:
        return None
    if end - start <= MAX_BLANK and all(c in _BLANKISH or c.isspace() for c in buf[start:end]):
        return None  # a run of spaces or dashes: wait for the newline
    return _classify_line(buf, start, end)


def _first_non_indent(buf: str, start: int, end: int) -> str | None:
    for i in range(start, min(end, start + _MAX_INDENT + 1)):
        if buf[i] not in " \t":
            return buf[i]
    return None


def is_title(line: Line, rest: str) -> bool:
    """A heading that announces a body: "### Timing", "Step 2", "Step 2:", "**Step 2: Timing**".

    ``rest`` is the heading line's text after its marker. A blank line after a title does not
    end its step: the paragraph below is the title's body.
    """
    rest = rest.strip()
    return line.markdown or not rest or rest.endswith((":", "**", "__"))
