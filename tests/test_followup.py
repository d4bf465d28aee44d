"""Follow-up questions reuse the prefilled conversation and answer exactly as without it."""

from __future__ import annotations

from pathlib import Path

import pytest

from engine.events import Done, Error, TextDelta
from engine.requests import AskRequest, ModelChoice, TurnSpec
from engine.runtime.host import ModelHost
from engine.runtime.process import handle
from engine.runtime.protocol import Ask
from tests import media


@pytest.fixture(scope="module")
def recording(tmp_path_factory) -> Path:
    samples = media.speech("The bell rang twice and then the dog barked.")
    return media.write_wav(tmp_path_factory.mktemp("rec") / "talk.wav", samples, 16000)


def run(engine: ModelHost, turns: list[TurnSpec], model: Path, tokens: int = 16) -> tuple[str, dict]:
    request = AskRequest(tuple(turns), ModelChoice(str(model), "/nonexistent", "fp32", "cpu"), tokens)
    events = list(handle(engine, Ask(1, request), lambda: False))
    assert not any(isinstance(e, Error) for e in events), events
    assert isinstance(events[-1], Done)
    return "".join(e.text for e in events if isinstance(e, TextDelta)), events[-1].stats


def test_follow_ups_reuse_the_cache_and_match_a_fresh_engine(tiny_model, recording):
    cached = ModelHost()
    first, stats = run(cached, [TurnSpec("What happens?", str(recording))], tiny_model)
    assert stats["reused_tokens"] == 0
    turns = [TurnSpec("What happens?", str(recording), first)]
    for question in ("How many times?", "And the dog?"):
        answer, stats = run(cached, [*turns, TurnSpec(question)], tiny_model)
        fresh_answer, fresh_stats = run(ModelHost(), [*turns, TurnSpec(question)], tiny_model)
        assert stats["reused_tokens"] > 0 and fresh_stats["reused_tokens"] == 0
        assert stats["prompt_tokens"] == fresh_stats["prompt_tokens"]
        assert answer == fresh_answer
        turns.append(TurnSpec(question, None, answer))
    assert len(cached.contexts) == 1, "each follow-up replaces the context it continued"


def test_a_changed_earlier_answer_is_not_served_from_the_cache(tiny_model, recording):
    engine = ModelHost()
    first, _ = run(engine, [TurnSpec("What happens?", str(recording))], tiny_model)
    _, stats = run(
        engine, [TurnSpec("What happens?", str(recording), first + " (edited)"), TurnSpec("So?")], tiny_model
    )
    assert stats["reused_tokens"] == 0


def test_a_follow_up_with_new_audio_continues_the_cache(tiny_model, recording):
    engine = ModelHost()
    first, _ = run(engine, [TurnSpec("What happens?", str(recording))], tiny_model)
    spoken = media.speech("What about the dog?")
    turns = [TurnSpec("What happens?", str(recording), first), TurnSpec("", audio=spoken)]
    answer, stats = run(engine, turns, tiny_model)
    fresh, _ = run(ModelHost(), turns, tiny_model)
    assert stats["reused_tokens"] > 0 and answer == fresh


def test_the_cache_is_bounded_by_bytes_dropping_the_oldest(tiny_model, recording):
    engine = ModelHost()
    run(engine, [TurnSpec("What happens?", str(recording))], tiny_model)
    one = engine.contexts.nbytes
    assert one > 0
    engine.contexts.max_bytes = int(one * 1.5)
    first_answer, _ = run(engine, [TurnSpec("Who speaks?", str(recording))], tiny_model)
    assert len(engine.contexts) == 1 and engine.contexts.nbytes <= engine.contexts.max_bytes
    _, stats = run(
        engine, [TurnSpec("Who speaks?", str(recording), first_answer), TurnSpec("Sure?")], tiny_model
    )
    assert stats["reused_tokens"] > 0, "the newest context survived"


def test_encoding_matches_the_processor_for_one_clip(tiny_model, recording):
    from engine.audio import decode_audio
    from engine.inference.conversation import Conversation
    from engine.inference.prompt import full_prompt
    from engine.model.loading import load_model

    loaded = load_model(tiny_model, "fp32", "cpu")
    conversation = Conversation()
    conversation.ask("What happens?", decode_audio(recording))
    ours = full_prompt(loaded, conversation).inputs
    theirs = loaded.processor.apply_chat_template(
        conversation.to_messages(), tokenize=True, add_generation_prompt=True, return_dict=True
    )
    assert ours["input_ids"].tolist() == theirs["input_ids"].tolist()
    assert (ours["input_features"] == theirs["input_features"]).all()
