"""Split a streamed answer into reasoning (inside ``<think>…</think>``) and answer text.

Tags may arrive split across chunks (``"<thi"`` then ``"nk>"``), so a possible tag prefix at
the end of a chunk is held back until the next chunk settles it.
"""

from __future__ import annotations

from collections.abc import Iterator

from engine.events import TextDelta, ThinkDelta

OPEN_TAG = "<think>"
CLOSE_TAG = "</think>"


def _partial_tag_suffix(text: str, tag: str) -> int:
    """Length of the longest suffix of ``text`` that is a proper prefix of ``tag``."""
    for size in range(min(len(tag) - 1, len(text)), 0, -1):
        if text.endswith(tag[:size]):
            return size
    return 0


class ThinkSplitter:
    """Feed text chunks in order; get ``ThinkDelta`` and ``TextDelta`` events out."""

    def __init__(self, in_think: bool = False):
        self.in_think = in_think
        self._pending = ""

    def feed(self, chunk: str) -> Iterator[TextDelta | ThinkDelta]:
        text = self._pending + chunk
        self._pending = ""
        while text:
            tag = CLOSE_TAG if self.in_think else OPEN_TAG
            at = text.find(tag)
            if at >= 0:
                yield from self._emit(text[:at])
                self.in_think = not self.in_think
                text = text[at + len(tag) :]
                continue
            held = _partial_tag_suffix(text, tag)
            yield from self._emit(text[: len(text) - held])
            self._pending = text[len(text) - held :]
            return

    def flush(self) -> Iterator[TextDelta | ThinkDelta]:
        """End of stream: whatever was held back is plain text after all."""
        text, self._pending = self._pending, ""
        yield from self._emit(text)

    def _emit(self, text: str) -> Iterator[TextDelta | ThinkDelta]:
        if text:
            yield ThinkDelta(text) if self.in_think else TextDelta(text)
