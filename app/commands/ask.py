"""``heron ask AUDIO QUESTION``: stream an answer about a recording to the terminal."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from app import paths
from engine.errors import HeronError
from engine.events import Done, Error, Event, Progress, TextDelta, ThinkDelta
from engine.requests import MAX_NEW_TOKENS_LIMIT, AskRequest, ModelChoice, TurnSpec

PRECISIONS = ("nf4", "int8", "bf16", "fp32")


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
    parser.add_argument("--model", help="instruct, think, captioner, or a model folder (default: instruct)")
    parser.add_argument(
        "--adapter",
        metavar="DIR",
        help="answer with a trained adapter: its folder, or its name in `heron models list`",
    )
    parser.add_argument("--think", action="store_true", help="reason step by step before answering")
    parser.add_argument("--precision", choices=PRECISIONS, help="default: nf4 on CUDA, fp32 on CPU")
    parser.add_argument("--device", choices=("cpu", "cuda"), help="default: CUDA when present")
    parser.add_argument("--max-new-tokens", type=_token_count, default=512, metavar="N", help="default: 512")
    parser.add_argument("--json", action="store_true", help="print one JSON object per event per line")
    parser.set_defaults(run=run)


def _token_count(value: str) -> int:
    if not value.isdigit() or not 1 <= int(value) <= MAX_NEW_TOKENS_LIMIT:
        raise argparse.ArgumentTypeError(
            f"must be a whole number from 1 to {MAX_NEW_TOKENS_LIMIT}, not {value!r}"
        )
    return int(value)


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


def build_request(args: argparse.Namespace, earlier: tuple[TurnSpec, ...] = ()) -> AskRequest:
    audio, question = _split_inputs(args)
    model = args.model or ("think" if args.think else "instruct")
    adapter = str(adapter_folder(args.adapter)) if args.adapter else None
    choice = ModelChoice(model, str(paths.models_dir()), args.precision, args.device, adapter)
    turn = TurnSpec(question=question, audio_path=audio)
    return AskRequest((*earlier, turn), choice, max_new_tokens=args.max_new_tokens, think=args.think)


def adapter_folder(value: str) -> Path:
    """An adapter's folder from ``--adapter``: a path, or the name of one in the adapters folder."""
    given = Path(value).expanduser()
    named = paths.adapters_dir() / value
    if not given.exists() and given.name == value and named.is_dir():
        return named
    return given.resolve()


def preflight(request: AskRequest) -> float | None:
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
    resolve_model(request.model.model, Path(request.model.models_dir))
    if request.model.adapter:
        from engine.trainer.adapters import read_adapter

        read_adapter(Path(request.model.adapter))  # not a folder, or not an adapter: said before loading
    return duration


def run(args: argparse.Namespace) -> int:
    from app.engine_client import EngineClient
    from engine.history import HistoryStore

    _split_inputs(args)  # a missing question is reported before anything else is looked up
    with HistoryStore(paths.history_path()) as store:
        earlier = earlier_turns(store, args.continue_id) if args.continue_id is not None else ()
        request = build_request(args, earlier)
        duration = preflight(request)
        recorder, conversation_id = begin_turn(store, request, args.continue_id, duration)
        client = EngineClient(log_dir=str(paths.logs_dir()))
        printer = JsonPrinter() if args.json else TextPrinter(verbose=args.verbose)
        try:
            return _stream(client, request, printer, recorder, conversation_id)
        finally:
            client.close()


def earlier_turns(store, conversation_id: int) -> tuple[TurnSpec, ...]:
    """The finished turns of a stored conversation, each with the recording it was about."""
    record = store.get_conversation(conversation_id)
    paths_by_id = {r.id: r.path for r in record.recordings}
    return tuple(
        TurnSpec(t.question, paths_by_id.get(t.recording_id), t.answer or "")
        for t in record.turns
        if t.state.value in ("done", "interrupted")
    )


def begin_turn(store, request: AskRequest, conversation_id: int | None, duration: float | None):
    """Commit the question before anything else happens, so that a crash cannot lose it."""
    from engine.history.recorder import TurnRecorder, conversation_title

    last = request.turns[-1]
    if conversation_id is None:
        conversation_id = store.create_conversation(
            conversation_title(last.question), model=request.model.model
        )
    recording_id = store.add_recording(last.audio_path, duration) if last.audio_path else None
    turn_id = store.begin_turn(conversation_id, last.question, recording_id)
    return TurnRecorder(store, turn_id), conversation_id


def _stream(client, request: AskRequest, printer, recorder, conversation_id: int) -> int:
    status = 0
    events = client.ask(request)
    while True:
        try:
            event = next(events)
        except StopIteration:
            return status
        except KeyboardInterrupt:
            client.cancel()  # the stream ends shortly with Done(finish=cancelled)
            status = 130
            continue
        recorder.on_event(event)
        if isinstance(event, Done):
            event = Done({**event.stats, "conversation_id": conversation_id, "turn_id": recorder.turn_id})
        printer.show(event)
        if isinstance(event, Error):
            print(f"heron: {event.message}", file=sys.stderr)
            status = 2


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
        label = {"load_model": "Loading the model", "decode_audio": "Reading the recording"}.get(
            event.stage, event.stage
        )
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
        if stats.get("finish") == "cancelled":
            print("(stopped)", file=sys.stderr)
        elif stats.get("finish") == "length":
            print("(cut at --max-new-tokens; raise it for a longer answer)", file=sys.stderr)
        if self.verbose:
            print(" ".join(f"{k}={v}" for k, v in stats.items()), file=sys.stderr)
