"""The text of a stream, addressed by absolute offsets, keeping only what is still needed.

Recent text lives in one string that the regexes search. Older text that the step under way
still needs is held as chunks and joined only when that step is cut out. Appending therefore
costs the size of the recent string, not of the whole chain, and a long chain streams in
linear time.
"""

from __future__ import annotations

_RELEASE_AFTER = 8192  # let this much consumed text pile up before moving it out


class TextBuffer:
    def __init__(self) -> None:
        self.recent = ""  # the text from ``base`` on
        self.base = 0
        self._held: list[str] = []  # the text from ``_held_from`` to ``base``, when kept
        self._held_from = 0

    @property
    def end(self) -> int:
        return self.base + len(self.recent)

    @property
    def crowded(self) -> bool:
        """Enough recent text has piled up for a release to be worth working out."""
        return len(self.recent) > _RELEASE_AFTER

    def append(self, text: str) -> None:
        self.recent += text

    def text(self, start: int, stop: int) -> str:
        """The text from ``start`` to ``stop`` (``start`` recent or held)."""
        if start >= self.base:
            return self.recent[start - self.base : stop - self.base]
        held = "".join(self._held)
        self._held = [held]
        head = held[start - self._held_from : stop - self._held_from]
        return head + self.recent[: max(0, stop - self.base)]

    def release(self, keep: int, hold_from: int | None) -> None:
        """Searches will not read before ``keep`` again; text from ``hold_from`` on is still needed."""
        if keep - self.base <= _RELEASE_AFTER:
            return
        if hold_from is not None and hold_from < keep:
            if not self._held:
                self._held_from = max(hold_from, self.base)
            self._held.append(self.recent[max(hold_from, self.base) - self.base : keep - self.base])
        self.recent = self.recent[keep - self.base :]
        self.base = keep

    def forget_before(self, start: int) -> None:
        """Held text before ``start`` is no longer needed."""
        if start >= self.base or not self._held:
            self._held = []
        elif start > self._held_from:
            self._held = [self.text(start, self.base)]
            self._held_from = start
