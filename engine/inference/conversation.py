"""A multi-turn conversation, with audio attached to the turns that carry it."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from engine.audio import SAMPLE_RATE


@dataclass
class Turn:
    question: str
    audio: np.ndarray | None = None  # 16 kHz mono float32, as decoded
    answer: str | None = None  # None while the turn is being answered


@dataclass
class Conversation:
    turns: list[Turn] = field(default_factory=list)
    system_prompt: str | None = None  # None: the model's own default

    def ask(self, question: str, audio: np.ndarray | None = None) -> Turn:
        turn = Turn(question=question, audio=audio)
        self.turns.append(turn)
        return turn

    def to_messages(self, with_samples: bool = True) -> list[dict]:
        """Chat messages in the processor's format; the last turn is the one to answer.

        ``with_samples=False`` leaves the audio parts empty: enough to render the template.
        """
        messages: list[dict] = []
        if self.system_prompt:
            messages.append({"role": "system", "content": [{"type": "text", "text": self.system_prompt}]})
        for turn in self.turns:
            content: list[dict] = []
            if turn.audio is not None:
                content.append({"type": "audio", "audio": turn.audio} if with_samples else {"type": "audio"})
            content.append({"type": "text", "text": turn.question})
            messages.append({"role": "user", "content": content})
            if turn.answer is not None:
                messages.append({"role": "assistant", "content": [{"type": "text", "text": turn.answer}]})
        return messages

    @property
    def audio_seconds(self) -> float:
        return sum(len(t.audio) for t in self.turns if t.audio is not None) / SAMPLE_RATE
