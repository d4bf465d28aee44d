"""Examples into token ids, labels and batches.

The prompt is the model's own chat template with the audio placeholder expanded to one
``<sound>`` per encoder row, exactly as the processor lays it out at inference. The target
is what the assistant writes after ``<|im_start|>assistant\\n``: the answer (after the
reasoning in ``<think>…</think>`` when the example has one) and the end-of-turn token.
Only target tokens carry labels; the prompt, the audio and the padding are -100. Labels
line up with ``input_ids``: position t is predicted from positions before t.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch

from engine.trainer.dataset import Example

IGNORE = -100
END_OF_TURN = "<|im_end|>"


@dataclass
class Encoded:
    """One example ready for the model."""

    input_ids: list[int]
    labels: list[int]
    audio: torch.Tensor  # (audio tokens, encoder width): the frozen encoder's rows


@dataclass
class Batch:
    input_ids: torch.Tensor  # (B, T), padded on the right
    attention_mask: torch.Tensor  # (B, T)
    labels: torch.Tensor  # (B, T)
    audio: torch.Tensor  # (sum of audio tokens, encoder width), in batch order

    @property
    def label_tokens(self) -> int:
        return int((self.labels != IGNORE).sum())


class PromptBuilder:
    """Token ids of prompts and targets for one processor; templates rendered once per question."""

    def __init__(self, processor):
        self.processor = processor
        self.tokenizer = processor.tokenizer
        self.audio_id = processor.audio_token_id
        self.audio_bos_id = processor.audio_bos_token_id
        self.audio_eos_id = processor.audio_eos_token_id
        end = self.tokenizer.convert_tokens_to_ids(END_OF_TURN)
        self.end_id = end if isinstance(end, int) and end >= 0 else self.tokenizer.eos_token_id
        self._prompts: dict[str, list[int]] = {}

    def prompt_ids(self, question: str, audio_tokens: int) -> list[int]:
        ids = self._prompts.get(question)
        if ids is None:
            ids = self._prompts[question] = self._render(question)
        at = ids.index(self.audio_id)
        audio = [self.audio_bos_id, *[self.audio_id] * audio_tokens, self.audio_eos_id]
        return ids[:at] + audio + ids[at + 1 :]

    def target_ids(self, example: Example) -> list[int]:
        return self.tokenizer(example.target_text(), add_special_tokens=False)["input_ids"] + [self.end_id]

    def encode(self, example: Example, audio: torch.Tensor) -> Encoded:
        prompt = self.prompt_ids(example.question, audio.shape[0])
        target = self.target_ids(example)
        return Encoded(prompt + target, [IGNORE] * len(prompt) + target, audio)

    def _render(self, question: str) -> list[int]:
        messages = [{"role": "user", "content": [{"type": "audio"}, {"type": "text", "text": question}]}]
        text = self.processor.apply_chat_template(messages, tokenize=False, add_generation_prompt=True)
        ids = self.tokenizer(text, add_special_tokens=False)["input_ids"]
        if ids.count(self.audio_id) != 1:
            raise ValueError("the chat template must place exactly one audio placeholder")
        return ids


def collate(items: list[Encoded], pad_id: int) -> Batch:
    """Pad on the right: every example keeps positions 0…n-1, as in single-example inference."""
    width = max(len(item.input_ids) for item in items)
    input_ids = torch.full((len(items), width), pad_id, dtype=torch.long)
    labels = torch.full((len(items), width), IGNORE, dtype=torch.long)
    attention = torch.zeros((len(items), width), dtype=torch.long)
    for row, item in enumerate(items):
        n = len(item.input_ids)
        input_ids[row, :n] = torch.tensor(item.input_ids)
        labels[row, :n] = torch.tensor(item.labels)
        attention[row, :n] = 1
    return Batch(input_ids, attention, labels, torch.cat([item.audio for item in items]))
