"""Keep the speaker fed: make each piece of speech before the audio queued ahead of it runs out.

A voice such as Piper makes a whole piece before its first sample, at a speed that depends on
how busy the machine is. ``Pacer`` learns, as the voice speaks, how long it takes per character
and how much speech a character gives; ``split`` then cuts a piece's spoken text at its clause
boundaries (or, when none is near enough, between two words) so that the first part is ready
before the queued audio ends, and each later part before the parts ahead of it have played. So
the first sound of an answer waits for a few words, not a whole clause. A fast voice (eSpeak
NG) is never split.
"""

from __future__ import annotations

import re
import threading
import weakref
from dataclasses import dataclass

from engine.speech.tts import CLAUSE_PAUSE_S, pause_after

MIN_BUDGET_S = 0.12  # with nothing queued, a part should still come out this quickly
SAFETY = 0.6  # use this share of the time ahead: the machine's speed changes from part to part
MIN_PART_CHARS = 10  # never a part shorter than this ("Yes," stays with what follows)
_CLAUSE_END = re.compile(r"[,;:.!?](?=\s)")
_WORD_END = re.compile(r"\w(?=\s)")


@dataclass
class Pacer:
    synth_s_per_char: float = 0.005  # a first guess (Piper on a busy 2-core machine); learnt as it goes
    audio_s_per_char: float = 0.065  # speech at a normal rate
    smoothing: float = 0.3

    def observe(self, chars: int, synth_s: float, audio_s: float) -> None:
        """One piece was made: ``chars`` characters in ``synth_s`` seconds gave ``audio_s`` of speech."""
        if chars <= 0 or audio_s <= 0:
            return
        a = self.smoothing
        self.synth_s_per_char = (1 - a) * self.synth_s_per_char + a * synth_s / chars
        self.audio_s_per_char = (1 - a) * self.audio_s_per_char + a * audio_s / chars

    def split(self, text: str, ahead_s: float) -> list[str]:
        """``text`` in parts, each made in time; one part when it fits (or has no clause boundary)."""
        parts: list[str] = []
        while text:
            budget_chars = max(ahead_s * SAFETY, MIN_BUDGET_S) / self.synth_s_per_char
            cut = self._cut(text, budget_chars)
            part, text = text[:cut].strip(), text[cut:].strip()
            parts.append(part)
            ahead_s = max(ahead_s - self.synth_s_per_char * len(part), 0.0) + self.audio_s_per_char * len(
                part
            )
        return parts

    @staticmethod
    def _cut(text: str, budget_chars: float) -> int:
        """Where the next part ends: the last clause end within the budget, else the last word
        end within it (the text is already words: no number is parted from its unit), else the
        first clause end."""
        if len(text) <= budget_chars:
            return len(text)
        for pattern in (_CLAUSE_END, _WORD_END):
            ends = [
                m.end()
                for m in pattern.finditer(text)
                if MIN_PART_CHARS <= m.end() <= budget_chars and len(text) - m.end() >= MIN_PART_CHARS
            ]
            if ends:
                return ends[-1]
        later = [m.end() for m in _CLAUSE_END.finditer(text) if len(text) - m.end() >= MIN_PART_CHARS]
        return later[0] if later else len(text)


def pause_after_part(piece: str, part: str, last: bool) -> float:
    """The silence after one part of ``piece``: the piece's own pause after its last part, a clause's
    after a part that ends at punctuation, none between two words (they flow on)."""
    if last:
        return pause_after(piece)
    return CLAUSE_PAUSE_S if part[-1] in ",;:.!?" else 0.0


_pacers: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()
_lock = threading.Lock()


def pacer_for(voice) -> Pacer:
    """The pacer that learns ``voice``'s speed (one per voice, kept across answers)."""
    with _lock:
        pacer = _pacers.get(voice)
        if pacer is None:
            pacer = _pacers[voice] = Pacer()
        return pacer
