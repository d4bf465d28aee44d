"""How the engine answers one question, step by step.

``answer`` reads top to bottom as the pipeline it is:

1. resolve the model and adapter (``ModelHost.model_for``);
2. get each turn's audio (``AudioCache``: decoded once, kept for follow-ups);
3. plan windows: a recording longer than the model hears at once is answered part by part
   (``engine.longform``);
4. take the prefilled context of the conversation so far, or build the prompt afresh
   (``engine.inference.contexts`` / ``prompt``);
5. generate, streaming text and reasoning steps (``engine.inference.generation``);
6. remember the prefilled prompt, so that the next follow-up starts from it.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Generator, Iterator
from dataclasses import dataclass

import numpy as np

from engine.audio import SAMPLE_RATE, check_samples
from engine.audio.recording import ArrayRecording, FileRecording, Recording
from engine.errors import RequestError
from engine.events import Event, Finish
from engine.inference.contexts import CachedContext, TurnKey
from engine.inference.conversation import Conversation, Turn
from engine.inference.generation import GenerationOptions, Outcome, stream_answer
from engine.inference.prompt import Prompt, followup_prompt, full_prompt
from engine.longform.pipeline import AskOne, answer_in_windows
from engine.reasoning import with_steps
from engine.requests import AskRequest
from engine.runtime.audio_cache import AudioCache, TurnAudio
from engine.runtime.host import ModelHost

THINK_INSTRUCTION = (
    "\n\nFirst reason step by step inside <think> and </think>, citing each moment of the audio you "
    "rely on as [mm:ss]; then give the answer."
)


@dataclass(frozen=True)
class Question:
    """The turn to answer, once its model, its audio and the turns before it are settled."""

    model_key: tuple  # what a prefilled context must have been computed under
    earlier: list[TurnAudio]
    last: TurnAudio
    text: str  # the question as the model gets it (with the reasoning instruction if asked for)
    samples: np.ndarray | None  # the question's own audio
    asked_at: float  # time to first token counts from here: audio and prompt included


def answer(host: ModelHost, request: AskRequest, should_cancel: Callable[[], bool]) -> Iterator[Event]:
    options = GenerationOptions(max_new_tokens=request.max_new_tokens)
    options.validate()
    _validate_turns(request)
    question = yield from _settle(host, request, should_cancel)
    recording = _long_recording(host.audio, question, host.loaded.max_audio_s)
    if recording is not None:
        earlier_qa = [(t.spec.question, t.spec.answer or "") for t in question.earlier]
        windowed = answer_in_windows(_asker(host, options, should_cancel), recording, host.loaded.max_audio_s,
                                     question.text, should_cancel, question.asked_at, earlier_qa)  # fmt: skip
        yield from with_steps(windowed, recording.duration_s)
        return
    prompt = yield from _prompt(host, question, should_cancel)
    host.make_room(prompt)
    stream = stream_answer(host.loaded, prompt, options, should_cancel, question.asked_at)
    outcome = yield from with_steps(stream, prompt.audio_s)
    _remember(host, question, prompt, outcome)


def _asker(host: ModelHost, options: GenerationOptions, should_cancel) -> AskOne:
    """One question on a clip, answered by the loaded model: what a long recording's windows ask."""

    def ask_one(text: str, clip: np.ndarray | None, asked_at: float | None):
        conversation = Conversation()
        conversation.ask(text, clip)
        return stream_answer(
            host.loaded, full_prompt(host.loaded, conversation), options, should_cancel, asked_at
        )

    return ask_one


def _settle(host: ModelHost, request: AskRequest, should_cancel) -> Generator[Event, None, Question]:
    model_key = yield from host.model_for(request.model)
    asked_at = time.perf_counter()
    *earlier, last = [host.audio.identify(spec) for spec in request.turns]
    long_file = last.spec.audio_path and host.audio.seconds(last) > host.loaded.max_audio_s
    samples = (
        None if long_file else (yield from host.audio.samples(last, should_cancel))
    )  # long: read by window
    text = last.spec.question + (THINK_INSTRUCTION if request.think and not host.thinks else "")
    return Question(model_key, earlier, last, text, samples, asked_at)


def _long_recording(audio: AudioCache, question: Question, max_s: float) -> Recording | None:
    """The conversation's recording when it is longer than the model hears at once (``max_s``):
    a file is read a window at a time, never decoded whole."""
    if question.samples is not None and len(question.samples) > max_s * SAMPLE_RATE:
        return ArrayRecording(question.samples)
    for turn in (question.last, *reversed(question.earlier)):
        if turn.spec.audio_path and audio.seconds(turn) > max_s:
            return FileRecording(turn.spec.audio_path, audio.seconds(turn))
        if turn.spec.audio is not None and len(turn.spec.audio) > max_s * SAMPLE_RATE:
            return ArrayRecording(turn.spec.audio)
    return None


def _prompt(host: ModelHost, question: Question, should_cancel) -> Generator[Event, None, Prompt]:
    """Continue the conversation's prefilled context when one is kept, else prefill it all."""
    earlier = question.earlier
    if earlier:
        keys = [(t.spec.question, t.key, t.spec.answer) for t in earlier]
        context = host.contexts.take(question.model_key, keys)
        if context is not None:
            prompt = followup_prompt(host.loaded, context, earlier[-1].spec.answer, question.text,
                                     question.samples)  # fmt: skip
            if prompt is not None:
                return prompt
    conversation = Conversation()
    for turn in earlier:
        samples = yield from host.audio.samples(turn, should_cancel)
        conversation.ask(turn.spec.question, samples).answer = turn.spec.answer
    conversation.ask(question.text, question.samples)
    return full_prompt(host.loaded, conversation)


def _remember(host: ModelHost, question: Question, prompt: Prompt, outcome: Outcome) -> None:
    """Keep this turn's prefilled prompt so that the next follow-up starts from it."""
    if outcome.cache is None or outcome.finish == Finish.CANCELLED:
        return
    prompt_len = int(prompt.inputs["input_ids"].shape[-1])
    outcome.cache.crop(-(outcome.cache.get_seq_length() - prompt_len))  # drop the answer's tokens
    keys = [_turn_key(t.spec.question, t.key, t.spec.answer) for t in question.earlier]
    done = _turn_key(question.last.spec.question, question.last.key, outcome.raw_text, outcome.answer_text)
    shapes = [(t.spec.question, t.has_audio, t.spec.answer) for t in question.earlier]
    shapes.append((question.text, question.samples is not None, None))
    host.contexts.put(
        CachedContext(
            turns=(*keys, done),
            messages=_template_messages(shapes),
            token_ids=prompt.inputs["input_ids"][:, :prompt_len],
            cache=outcome.cache,
            audio_s=prompt.audio_s,
            model_key=question.model_key,
        )
    )


def _turn_key(question: str, audio_key: str | None, *answers: str | None) -> TurnKey:
    return TurnKey(question, audio_key, frozenset(a for a in answers if a is not None))


def _template_messages(turns: list[tuple[str, bool, str | None]]) -> list[dict]:
    """Chat messages for (question, has audio, answer) turns, audio parts without samples."""
    conversation = Conversation([Turn(q, _NO_SAMPLES if audio else None, a) for q, audio, a in turns])
    return conversation.to_messages(with_samples=False)


_NO_SAMPLES = np.zeros(0, dtype=np.float32)  # marks "this turn had audio" where only the template matters


def _validate_turns(request: AskRequest) -> None:
    if not request.turns or request.turns[-1].answer is not None:
        raise RequestError("Nothing to answer: the last turn already has an answer.")
    last = request.turns[-1]
    if not last.question.strip() and last.audio is None and not last.audio_path:
        raise RequestError("The question is empty: type or say what you want to know.")
    for turn in request.turns:
        if turn.audio is not None:  # samples sent as they are (spoken, or through heron serve)
            check_samples(turn.audio, "the spoken question")
