"""Find where sentences end in prose, one settled end at a time.

A sentence ends at ``.``, ``!``, ``?`` or ``…`` (closing quotes and brackets may follow) once a
whitespace character comes after it, so "12.5 s" and "v2.1" never end one, and an end found in a
partial text is never undone by what arrives later. A newline also ends a sentence (the caller
handles that: it splits lines first).
"""

from __future__ import annotations

import re

_TERMINATORS = ".!?…"
_CLOSERS = "\"'”’)]»"
# The look-ahead needs the whitespace to have arrived, which is what makes an end settled. A
# match starts only where a run of terminators starts and its parts are bounded and possessive,
# so a degenerate run of ten thousand dots costs linear time (and ends no sentence).
_END = re.compile(
    rf"(?<![{re.escape(_TERMINATORS)}])[{re.escape(_TERMINATORS)}]{{1,8}}+[{re.escape(_CLOSERS)}]{{0,8}}+(?=\s)"
)
_LONGEST_END = 16
# Abbreviations whose dot does not end a sentence. "etc." is left out: it ends sentences often.
_ABBREVIATION = re.compile(
    r"(?:^|[^\w.])(?:e\.g|i\.e|vs|approx|ca|cf|mr|mrs|ms|dr|st|jr|sr|prof|fig)$", re.IGNORECASE
)
_LONGEST_ABBREVIATION = 7  # "approx" plus the character before it
LOOK_BEHIND = 32  # more than the longest end plus the longest abbreviation
_TAIL = frozenset(_TERMINATORS + _CLOSERS)


def sentence_ends(buf: str, pos: int, stop: int, sentence_start: int) -> tuple[list[int], int]:
    """Ends of the sentences settled in ``buf[pos:stop]`` and where the next search may resume.

    ``sentence_start`` is where the sentence under way began (abbreviations look back to it);
    a match reads at most ``LOOK_BEHIND`` characters before ``pos``.
    The resume point skips text that can no longer hold an end, so a long sentence arriving a
    character at a time is scanned once, not once per character.
    """
    ends: list[int] = []
    for match in _END.finditer(buf, pos, stop):
        pos = match.end()
        window = buf[max(sentence_start, match.start() - _LONGEST_ABBREVIATION) : match.start()]
        if match.group() == "." and _ABBREVIATION.search(window):
            continue
        ends.append(match.end())
        sentence_start = match.end()
    return ends, max(pos, stop - _tail_length(buf, pos, stop))


def _tail_length(buf: str, pos: int, stop: int) -> int:
    """Length of the run of terminators and closers ending ``buf[pos:stop]``, up to the longest end.

    Only that tail can still become a sentence end once whitespace arrives.
    """
    size = 0
    while size < _LONGEST_END and stop - size > pos and buf[stop - size - 1] in _TAIL:
        size += 1
    return size
