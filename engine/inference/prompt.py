"""Model inputs for a turn: the whole conversation, or only what follows a cached context.

The chat template is rendered to text, then encoded piece by piece: text between audio
placeholders through the tokenizer, each audio clip through the processor (features and
its expanded placeholder tokens). The processor alone takes one clip per sequence; a
conversation may hold several (a recording, then spoken questions).

A follow-up question does not encode and prefill the audio again: its prompt is the text the
template adds after the cached prompt (the previous answer, the new question, the assistant
header), encoded on its own and handed to ``generate`` with the cached KV.
"""

from __future__ import annotations

from contextlib import contextmanager
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np
import torch

from engine.audio import SAMPLE_RATE, check_samples
from engine.audio.length import MIN_SAMPLES
from engine.inference.conversation import Conversation

FEATURE_PIECES = 4  # 30 s pieces whose features are computed together: bounded temporaries

if TYPE_CHECKING:
    from engine.inference.contexts import CachedContext
    from engine.model.loading import LoadedModel


@dataclass
class Prompt:
    inputs: dict[str, torch.Tensor]  # input_ids and attention_mask for the whole sequence, maybe features
    cache: Any = None  # KV cache covering a prefix of input_ids, or None
    audio_s: float = 0.0  # seconds of audio in the whole conversation
    reused_tokens: int = 0  # prompt tokens served from the cache


def full_prompt(loaded: LoadedModel, conversation: Conversation) -> Prompt:
    """Tokenise the whole conversation and extract features for all of its audio."""
    text = loaded.processor.apply_chat_template(
        conversation.to_messages(with_samples=False), tokenize=False, add_generation_prompt=True
    )
    audios = [t.audio for t in conversation.turns if t.audio is not None]
    inputs = encode(loaded, text, audios)
    inputs["attention_mask"] = torch.ones_like(inputs["input_ids"])
    return Prompt(_to_device(loaded, inputs), audio_s=conversation.audio_seconds)


def followup_prompt(
    loaded: LoadedModel, context: CachedContext, answer: str, question: str, audio: np.ndarray | None
) -> Prompt | None:
    """The cached prompt of the last turn, then its ``answer`` and the new turn; None if not possible.

    The tokens after the cache are exactly those that encoding the whole conversation would
    give, so an answer is the same with and without the cache.
    """
    suffix = _suffix_text(loaded, context.messages, answer, question, audio is not None)
    if suffix is None:
        return None
    new = encode(loaded, suffix, [audio] if audio is not None else [])
    ids = torch.cat([context.token_ids, new.pop("input_ids").to(context.token_ids.device)], dim=1)
    inputs = {"input_ids": ids, "attention_mask": torch.ones_like(ids), **new}
    audio_s = context.audio_s + (len(audio) / SAMPLE_RATE if audio is not None else 0.0)
    return Prompt(_to_device(loaded, inputs), context.cache, audio_s, context.cache.get_seq_length())


def encode(loaded: LoadedModel, text: str, audios: list[np.ndarray]) -> dict[str, torch.Tensor]:
    """Token ids for ``text`` whose audio placeholders are filled, in order, by ``audios``."""
    processor = loaded.processor
    pieces = text.split(processor.audio_token)
    if len(pieces) != len(audios) + 1:
        raise ValueError(f"{len(pieces) - 1} audio placeholders for {len(audios)} clips")
    ids = [_tokens(processor, pieces[0])]
    features, masks = [], []
    for audio, piece in zip(audios, pieces[1:], strict=True):
        with _features_in_pieces(processor):
            clip = processor(text=[processor.audio_token], audio=[_hearable(processor, audio)])
        ids += [clip["input_ids"], _tokens(processor, piece)]
        features.append(clip["input_features"])
        masks.append(clip["input_features_mask"])
    inputs = {"input_ids": torch.cat(ids, dim=1)}
    if features:
        inputs["input_features"] = torch.cat(features)
        inputs["input_features_mask"] = torch.cat(masks)
    return inputs


def _hearable(processor, audio: np.ndarray) -> np.ndarray:
    """``audio``, refused when too short to make an audio token, less a last window too short to
    make one: the processor cuts 30 s windows, and one of 20 ms or less breaks the model."""
    check_samples(audio)
    window = round(SAMPLE_RATE * processor.feature_extractor.chunk_length)
    stub = len(audio) % window
    return audio[: len(audio) - stub] if len(audio) > window and 0 < stub < MIN_SAMPLES else audio


@contextmanager
def _features_in_pieces(processor):
    """Let the processor's feature extractor take a clip's 30 s pieces a few at a time.

    The processor cuts a clip into 30 s pieces and extracts them in one batch: for 30 minutes the
    STFT's temporaries took about 1.1 GB. Each piece's features depend on that piece alone (its
    own log-mel ceiling), so batches of ``FEATURE_PIECES`` joined give the same features."""
    whole = processor.feature_extractor
    processor.feature_extractor = _PiecewiseExtractor(whole)
    try:
        yield
    finally:
        processor.feature_extractor = whole


class _PiecewiseExtractor:
    def __init__(self, whole):
        self._whole = whole

    def __getattr__(self, name: str):
        return getattr(self._whole, name)

    def __call__(self, pieces, **kwargs):
        if not isinstance(pieces, list) or len(pieces) <= FEATURE_PIECES:
            return self._whole(pieces, **kwargs)
        parts = [
            self._whole(pieces[i : i + FEATURE_PIECES], **kwargs)
            for i in range(0, len(pieces), FEATURE_PIECES)
        ]
        joined = parts[0]
        for key in joined:
            values = [part[key] for part in parts]
            joined[key] = torch.cat(values) if isinstance(values[0], torch.Tensor) else np.concatenate(values)
        return joined


def _tokens(processor, text: str) -> torch.Tensor:
    ids = processor.tokenizer(text, add_special_tokens=False).input_ids
    return torch.tensor([ids], dtype=torch.long)


def _suffix_text(loaded, messages: list[dict], answer: str, question: str, has_audio: bool) -> str | None:
    """What the template writes after the cached prompt; None if it is not a plain continuation."""
    render = loaded.processor.apply_chat_template
    before = render(messages, tokenize=False, add_generation_prompt=True)
    after = render(
        [
            *messages,
            {"role": "assistant", "content": [{"type": "text", "text": answer}]},
            {"role": "user", "content": _text_parts(question, has_audio)},
        ],
        tokenize=False,
        add_generation_prompt=True,
    )
    return after[len(before) :] if after.startswith(before) else None


def _text_parts(question: str, has_audio: bool) -> list[dict]:
    parts = [{"type": "audio"}] if has_audio else []
    return [*parts, {"type": "text", "text": question}]


def _to_device(loaded: LoadedModel, inputs: dict) -> dict:
    inputs = {k: v.to(loaded.device) for k, v in inputs.items()}
    if "input_features" in inputs:
        inputs["input_features"] = inputs["input_features"].to(loaded.dtype)
    return inputs
