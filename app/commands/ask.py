"""``heron ask AUDIO QUESTION``: stream an answer about a recording to the terminal."""

from __future__ import annotations

import argparse
import signal
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING

from app import paths
from app.commands import EXIT_INTERRUPTED
from app.commands.options import add_model_options, add_server_option, token_count
from engine.errors import HeronError
from engine.events import Done, Error, Event, Finish, Progress, Step, TextDelta, ThinkDelta, stage_label
from engine.requests import AskRequest, ModelChoice, TurnSpec

if TYPE_CHECKING:
    from engine.grounding import StepSnapper
    from engine.history.session import ActiveTurn
    from engine.interface import Engine


def register(commands) -> None:
    parser = commands.add_parser(
        "ask",
        help="ask a question about a recording",
        usage="heron ask AUDIO QUESTION [options]\n       heron ask --continue ID QUESTION [options]",
    )
    parser.add_argument(
        "inputs", nargs="*", metavar="AUDIO QUESTION",
        help="the recording (wav, flac, ogg, opus, mp3, m4a, webm, mp4, mkv, …) and what you want to know",
    )  # fmt: skip
    parser.add_argument(
        "--continue",
        dest="continue_id",
        type=int,
        metavar="ID",
        help="ask a follow-up in conversation ID (see `heron history list`)",
    )
    add_model_options(parser)
    add_server_option(parser)
    parser.add_argument(
        "--adapter",
        metavar="DIR",
        help="answer with a trained adapter: its folder, or its name in `heron models list`",
    )
    parser.add_argument("--think", action="store_true", help="reason step by step before answering")
    parser.add_argument("--max-new-tokens", type=token_count, default=512, metavar="N", help="default: 512")
    parser.add_argument("--json", action="store_true", help="print one JSON object per event per line")
    parser.add_argument(
        "--no-snap",
        action="store_true",
        help="keep the times steps cite as the model wrote them (default: snapped to the event's start)",
    )
    parser.set_defaults(run=run)


def _split_inputs(args: argparse.Namespace) -> tuple[str | None, str]:
    """(audio, question) from the positional arguments, which depend on --continue."""
    inputs = args.inputs
    if args.continue_id is not None and len(inputs) in (1, 2):
        return (inputs[0] if len(inputs) == 2 else None), inputs[-1]
    if args.continue_id is None and len(inputs) == 2:
        return inputs[0], inputs[1]
    raise HeronError(
        'a recording and a question are required: heron ask AUDIO "QUESTION" '
        '(or heron ask --continue ID "QUESTION")'
    )


def model_choice(args: argparse.Namespace) -> ModelChoice:
    """The model and adapter asked for; on a server, both by the names it serves them under."""
    if args.server:
        return ModelChoice(args.model or "", "", adapter=args.adapter)
    model = args.model or ("think" if args.think else "instruct")
    adapter = str(adapter_folder(args.adapter)) if args.adapter else None
    return ModelChoice(
        model, str(paths.models_dir()), args.precision, args.device, adapter, str(paths.cache_dir())
    )


def adapter_folder(value: str) -> Path:
    """An adapter's folder from ``--adapter``: a path, or the name of one in the adapters folder."""
    given = Path(value).expanduser()
    named = paths.adapters_dir() / value
    if not given.exists() and given.name == value and named.is_dir():
        return named
    return given.resolve()


def preflight(request: AskRequest, on_server: bool = False) -> float | None:
    """Fail in a fraction of a second, before the engine starts, on what can be checked cheaply.

    Returns the duration of the new turn's recording, if it has one.
    """
    from engine.audio import probe_audio
    from engine.model.registry import resolve_model

    last = request.turns[-1]
    if not last.question.strip():
        raise HeronError("The question is empty: say what you want to know about the recording.")
    for turn in request.turns[:-1]:
        if turn.audio_path and not Path(turn.audio_path).is_file():
            raise HeronError(
                f"The conversation's recording is no longer at {turn.audio_path}: put it back first."
            )
    duration = probe_audio(last.audio_path).duration_s if last.audio_path else None
    if on_server:
        return duration  # the server knows its models and adapters
    resolve_model(request.model.model, Path(request.model.models_dir))
    if request.model.adapter:
        from engine.trainer.adapters import read_adapter

        read_adapter(Path(request.model.adapter))  # not a folder, or not an adapter: said before loading
    return duration


def run(args: argparse.Namespace) -> int:
    from app.engines import open_engine
    from engine.history import HistoryStore
    from engine.history.session import ConversationSession

    audio, question = _split_inputs(args)  # a missing question is reported before anything else
    choice = model_choice(args)
    with HistoryStore(paths.history_path()) as store:
        session = ConversationSession(store, paths.spoken_dir(), choice.model)
        if args.continue_id is not None:
            session.open(args.continue_id)
        asked = AskRequest(
            session.turns_for(TurnSpec(question, audio)), choice, args.max_new_tokens, args.think
        )
        duration = preflight(asked, bool(args.server))  # nothing is written to the history before this passes
        turn = session.begin_typed(question, audio, duration)
        engine = open_engine(args.server, str(paths.logs_dir()))
        printer = JsonPrinter() if args.json else TextPrinter(verbose=args.verbose)
        snapper = step_snapper(asked, enabled=not args.no_snap)
        try:
            return _stream(engine, replace(asked, turns=turn.request_turns), printer, turn, session, snapper)
        finally:
            engine.shutdown()


def step_snapper(request: AskRequest, enabled: bool = True) -> StepSnapper:
    """Snaps the steps against the conversation's latest recording, read from its file a stretch at
    a time (the engine decoded it in its own process)."""
    from engine.grounding import StepSnapper
    from engine.grounding.file_audio import FileAudio

    recording = next((t.audio_path for t in reversed(request.turns) if t.audio_path), None)
    if not enabled or recording is None:
        return StepSnapper(None, enabled)
    try:
        return StepSnapper(FileAudio(recording))
    except HeronError:  # unreadable now: the answer is what matters, its steps stay as cited
        return StepSnapper(None)


def _stream(engine: Engine, request: AskRequest, printer, turn: ActiveTurn, session, snapper) -> int:
    status = 0
    with cancelled_by_signals(engine.cancel) as stopped:
        for event in engine.ask(request):  # a stop ends it with Done.cancelled(), saved like any end
            if isinstance(event, Step):
                event = snapper.ground(event)  # snapped before the history keeps it
            turn.on_event(event)
            if isinstance(event, Done):
                event = Done(
                    {**event.stats, "conversation_id": session.conversation_id, "turn_id": turn.turn_id}
                )
            printer.show(event)
            if isinstance(event, Error):
                print(f"heron: {event.message}", file=sys.stderr)
                status = 2
    return EXIT_INTERRUPTED if stopped else status


@contextmanager
def cancelled_by_signals(cancel: Callable[[], None]) -> Iterator[list[int]]:
    """Ctrl+C, SIGTERM and SIGHUP stop the answer rather than the process, so that what was said
    is kept and the turn ends "stopped"; a second signal interrupts at once. Yields the signals seen."""
    seen: list[int] = []

    def stop(signum, frame) -> None:
        if seen:
            raise KeyboardInterrupt
        seen.append(signum)
        cancel()

    stops = [signal.SIGINT, signal.SIGTERM, *([signal.SIGHUP] if hasattr(signal, "SIGHUP") else [])]
    previous = {signum: signal.signal(signum, stop) for signum in stops}
    try:
        yield seen
    finally:
        for signum, handler in previous.items():
            signal.signal(signum, handler)


class JsonPrinter:
    def show(self, event: Event) -> None:
        print(event.to_json(), flush=True)


class TextPrinter:
    """Answer on stdout as it streams; reasoning dimmed (or labelled when not a terminal)."""

    DIM, RESET = "\033[2m", "\033[0m"

    def __init__(self, verbose: bool = False):
        self.verbose = verbose
        self.tty = sys.stdout.isatty()
        self.section: str | None = None
        self.progress_shown = False

    def show(self, event: Event) -> None:
        if isinstance(event, Progress):
            self._progress(event)
        elif isinstance(event, ThinkDelta):
            self._write("think", event.text)
        elif isinstance(event, TextDelta):
            self._write("text", event.text)
        elif isinstance(event, Done):
            self._done(event)

    def _write(self, section: str, text: str) -> None:
        self._clear_progress()
        if section != self.section:
            if self.tty:
                sys.stdout.write(
                    self.DIM if section == "think" else self.RESET + ("\n" if self.section else "")
                )
            else:
                sys.stdout.write(
                    ("\n" if self.section else "") + ("Reasoning: " if section == "think" else "")
                )
            self.section = section
        sys.stdout.write(text)
        sys.stdout.flush()

    def _progress(self, event: Progress) -> None:
        if not sys.stderr.isatty():
            return
        label = stage_label(event.stage)
        share = f" {100 * event.done / event.total:3.0f}%" if event.total else ""
        sys.stderr.write(f"\r\033[K{label}…{share}")
        sys.stderr.flush()
        self.progress_shown = True

    def _clear_progress(self) -> None:
        if self.progress_shown:
            sys.stderr.write("\r\033[K")
            self.progress_shown = False

    def _done(self, event: Done) -> None:
        self._clear_progress()
        sys.stdout.write((self.RESET if self.tty else "") + "\n")
        sys.stdout.flush()
        stats = event.stats
        if event.finish == Finish.CANCELLED:
            print("(stopped)", file=sys.stderr)
        elif event.finish == Finish.LENGTH:
            print("(cut at --max-new-tokens; raise it for a longer answer)", file=sys.stderr)
        if self.verbose:
            print(" ".join(f"{k}={v}" for k, v in stats.items()), file=sys.stderr)
