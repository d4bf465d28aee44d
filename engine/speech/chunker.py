"""Cut a streamed answer into pieces of speech as soon as each one is complete.

The first piece decides how soon Heron starts talking, and a voice such as Piper makes a whole
piece before its first sample: so the first piece is short, a clause ("At one minute five, ...")
or, when no clause ends soon, a few words. Later pieces are whole sentences (they are made while
the earlier ones play), split at a clause only when a sentence runs very long. A sentence end is only certain once the character after it is
seen ("3." may become "3.5"), so a final period waits for the next delta or the end.

Only answer text is spoken: ``sentences_from_events`` takes ``TextDelta`` and ignores
``ThinkDelta``; a literal ``<think>…</think>`` that slips into answer text is dropped too.
A fenced code block is replaced by one short notice instead of being read out.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass

from engine.events import Event, TextDelta
from engine.reasoning.thinking import ThinkSplitter
from engine.speech.spoken import CODE_NOTICE

# Words whose trailing period does not end a sentence.
_ABBREVIATIONS = {
    "e.g",
    "i.e",
    "mr",
    "mrs",
    "ms",
    "dr",
    "st",
    "vs",
    "etc",
    "approx",
    "no",
    "fig",
    "cf",
    "p.m",
    "a.m",
}
_SENTENCE_END = re.compile(r"[.!?…]+[\"'”’)\]]*(?=\s)|\n\s*\n|\n(?=\s*(?:[-*+•]|\d+[.)])\s)")
_LINE_END = re.compile(r"\n")
_CLAUSE_END = re.compile(r"[,;:—–][\"'”’)\]]*(?=\s)")
_WORD = re.compile(r"\S+")
_PLAIN_WORD = re.compile(r"[A-Za-z][A-Za-z']*")


@dataclass
class ChunkerOptions:
    first_clause_chars: int = 12  # the first piece may end at a clause once it is this long
    first_max_chars: int = 48  # ... and with no clause in sight, at a word once the text is longer
    max_chars: int = 220  # a longer sentence is split at its last clause boundary


class SentenceChunker:
    """Feed answer text deltas; get speakable pieces back as they complete."""

    def __init__(self, options: ChunkerOptions | None = None):
        self.options = options or ChunkerOptions()
        self._buffer = ""
        self._emitted = 0
        self._in_code = False
        self._think = ThinkSplitter()

    def feed(self, delta: str) -> list[str]:
        for event in self._think.feed(delta):
            if isinstance(event, TextDelta):
                self._buffer += event.text
        return self._drain(final=False)

    def flush(self) -> list[str]:
        """The end of the answer: whatever is left is the last piece."""
        for event in self._think.flush():
            if isinstance(event, TextDelta):
                self._buffer += event.text
        pieces = self._drain(final=True)
        rest = "" if self._in_code else self._buffer
        self._buffer, self._in_code = "", False
        return pieces + self._emit(rest)

    # -- internals ---------------------------------------------------------------------------
    def _drain(self, final: bool) -> list[str]:
        pieces: list[str] = []
        while True:
            if self._in_code:
                if not self._leave_code():
                    return pieces
                continue
            fence = self._buffer.find("```")
            if fence >= 0:
                before, self._buffer = self._buffer[:fence], self._buffer[fence + 3 :]
                pieces += self._emit(before) + self._emit(CODE_NOTICE)
                self._in_code = True
                continue
            cut = self._find_cut(final)
            if cut is None:
                return pieces
            head, self._buffer = self._buffer[:cut], self._buffer[cut:]
            pieces += self._emit(head)

    def _leave_code(self) -> bool:
        """Swallow fenced code up to its closing fence; False while the fence is still open."""
        end = self._buffer.find("```")
        if end < 0:
            tail = len(self._buffer) - len(self._buffer.rstrip("`"))  # part of a closing fence, maybe
            self._buffer = self._buffer[len(self._buffer) - tail :]
            return False
        rest = self._buffer[end + 3 :]
        newline = rest.find("\n")
        if newline < 0 and rest.strip() == "":
            self._buffer = rest  # the fence's info text may follow; wait for the line to end
            self._in_code = False
            return True
        self._buffer = rest[newline + 1 :] if newline >= 0 else rest
        self._in_code = False
        return True

    def _find_cut(self, final: bool) -> int | None:
        text = self._buffer
        for match in _SENTENCE_END.finditer(text):
            if match.group().startswith(".") and self._is_abbreviation(text, match.start()):
                continue
            return match.end()
        limit = self.options.first_clause_chars if self._emitted == 0 else self.options.max_chars
        if len(text.strip()) >= limit:
            clauses = [m.end() for m in _CLAUSE_END.finditer(text) if len(text[: m.end()].strip()) >= limit]
            if clauses:
                return clauses[0] if self._emitted == 0 else clauses[-1]
            # No clause boundary in sight: the first piece goes at a word boundary rather than wait
            # (a long opening sentence would otherwise hold the reply back); later ones much later.
            wait = self.options.first_max_chars if self._emitted == 0 else 2 * self.options.max_chars
            if len(text) > wait:
                line = _LINE_END.search(text)
                return line.end() if line else self._word_cut(text, wait)
        return None

    def _word_cut(self, text: str, limit: int) -> int | None:
        """After the last space within ``limit`` between two plain words: never between a number
        and its unit, a year and its "in", "Mr." and a name, which the spoken form reads together."""
        words = list(_WORD.finditer(text))
        for before, after in reversed(list(zip(words, words[1:], strict=False))):
            if before.end() < self.options.first_clause_chars:
                return None
            fits = after.start() <= limit + 1
            if fits and _PLAIN_WORD.fullmatch(before.group()) and after.group()[0].isalpha():
                return after.start()
        return None

    @staticmethod
    def _is_abbreviation(text: str, dot: int) -> bool:
        word = re.search(r"([\w.]+)$", text[:dot])
        if not word:
            return False
        token = word.group(1).lower()
        if token in _ABBREVIATIONS or (len(token) == 1 and token.isalpha() and token.isupper()):
            return True
        # "1." at the start of a line is a list number, not a sentence.
        line_start = text.rfind("\n", 0, dot) + 1
        return token.isdigit() and text[line_start:dot].strip() == token

    def _emit(self, piece: str) -> list[str]:
        if not re.search(r"\w", piece):
            return []
        self._emitted += 1
        return [piece.strip()]


def sentences_from_events(events: Iterable[Event], options: ChunkerOptions | None = None) -> Iterator[str]:
    """Speakable pieces of an answer's event stream: answer text only, never the reasoning."""
    chunker = SentenceChunker(options)
    for event in events:
        if isinstance(event, TextDelta):
            yield from chunker.feed(event.text)
    yield from chunker.flush()
