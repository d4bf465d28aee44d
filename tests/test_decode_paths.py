"""The decode paths of engine/inference/generation.py (HERON_DECODE) answer as the stock one does."""

from __future__ import annotations

import numpy as np
import pytest

from engine.events import Done, TextDelta
from engine.inference import generation
from engine.inference.conversation import Conversation
from engine.inference.generation import GenerationOptions, stream_answer
from engine.inference.prompt import full_prompt
from engine.model.loading import load_model


@pytest.fixture(scope="module")
def loaded(tmp_path_factory: pytest.TempPathFactory):
    from engine.model.tiny import ensure_tiny_model

    return load_model(ensure_tiny_model(tmp_path_factory.getbasetemp() / "tiny-shared"), "fp32", "cpu")


def answer(loaded, monkeypatch, path: str):
    monkeypatch.setenv(generation.DECODE_ENV, path)
    conversation = Conversation()
    conversation.ask(
        "What do you hear?", (0.1 * np.random.default_rng(1).standard_normal(32_000)).astype(np.float32)
    )
    stream = stream_answer(loaded, full_prompt(loaded, conversation), GenerationOptions(12))
    text, stats = [], {}
    while True:
        try:
            event = next(stream)
        except StopIteration as stop:
            return "".join(text), stats, stop.value
        text.extend([event.text] if isinstance(event, TextDelta) else [])
        stats = event.stats if isinstance(event, Done) else stats


def test_static_cache_answers_as_stock(loaded, monkeypatch):
    stock_text, stock_stats, stock = answer(loaded, monkeypatch, "stock")
    static_text, static_stats, static = answer(loaded, monkeypatch, "static")
    assert static_text == stock_text and static_stats["new_tokens"] == stock_stats["new_tokens"]
    assert stock.cache is not None, "the stock path keeps its cache for a follow-up"
    assert static.cache is None, "a static cache is sized for one answer: not kept"


def test_unknown_decode_setting_is_stock(monkeypatch):
    monkeypatch.setenv(generation.DECODE_ENV, "warp")
    assert generation.decode_path() == "stock"
