"""Greedy answers for many (audio, question) pairs at once, the way ``heron ask`` would answer.

Batches go through the processor (30 s windows, prompts padded on the left, as it does by
default) and ``model.generate`` without sampling. Rotary positions are relative, so the
left padding changes no answer; audio placeholders are banned from the output, as in
``engine.inference.generation``.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import numpy as np
import torch

ProgressFn = Callable[[int, int], None]


@torch.no_grad()
def greedy_answers(
    loaded,
    items: Sequence[tuple[np.ndarray, str]],
    max_new_tokens: int = 8,
    batch_size: int = 16,
    progress: ProgressFn | None = None,
) -> list[str]:
    """The model's answer to each (16 kHz mono samples, question), special tokens removed."""
    model = loaded.model
    answers: list[str] = []
    was_training = model.training
    model.eval()
    try:
        for start in range(0, len(items), batch_size):
            chunk = items[start : start + batch_size]
            answers.extend(_answer_batch(loaded, chunk, max_new_tokens))
            if progress is not None:
                progress(len(answers), len(items))
    finally:
        model.train(was_training)
    return answers


def _answer_batch(loaded, chunk: Sequence[tuple[np.ndarray, str]], max_new_tokens: int) -> list[str]:
    processor = loaded.processor
    conversations = [
        [{"role": "user", "content": [{"type": "audio", "audio": audio}, {"type": "text", "text": question}]}]
        for audio, question in chunk
    ]
    inputs = processor.apply_chat_template(
        conversations, tokenize=True, add_generation_prompt=True, return_dict=True
    ).to(loaded.device)
    inputs["input_features"] = inputs["input_features"].to(loaded.dtype)
    output = loaded.model.generate(
        **inputs,
        max_new_tokens=max_new_tokens,
        do_sample=False,
        bad_words_ids=[[i] for i in processor.audio_token_ids],
    )
    new_tokens = output[:, inputs["input_ids"].shape[1] :]
    return [text.strip() for text in processor.tokenizer.batch_decode(new_tokens, skip_special_tokens=True)]


def normalise(text: str) -> str:
    """Lower case, outer punctuation and spaces removed: for comparing short answers."""
    return text.strip().strip(".!?,;:\"'").strip().lower()


def accuracy(answers: Sequence[str], expected: Sequence[str]) -> float:
    if not expected:
        return 0.0
    return sum(normalise(a) == normalise(e) for a, e in zip(answers, expected, strict=True)) / len(expected)
