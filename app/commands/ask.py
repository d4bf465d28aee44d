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
    parser = commands.add_parser("ask", help="ask a question about a recording")
    parser.add_argument("audio", help="the recording (wav, flac, ogg, opus, mp3, m4a, webm, mp4, mkv, …)")
    parser.add_argument("question", help="what you want to know")
    parser.add_argument("--model", help="instruct, think, captioner, or a model folder (default: instruct)")
    parser.add_argument("--think", action="store_true", help="reason step by step before answering")
    parser.add_argument("--precision", choices=PRECISIONS, help="default: nf4 on CUDA, fp32 on CPU")
    parser.add_argument("--device", choices=("cpu", "cuda"), help="default: CUDA when present")
    parser.add_argument("--max-new-tokens", type=_token_count, default=512, metavar="N", help="default: 512")
    parser.add_argument("--json", action="store_true", help="print one JSON object per event per line")
    parser.set_defaults(run=run)


def _token_count(value: str) -> int:
    if not value.isdigit() or not 1 <= int(value) <= MAX_NEW_TOKENS_LIMIT:
        raise argparse.ArgumentTypeError(f"must be a whole number from 1 to {MAX_NEW_TOKENS_LIMIT}, not {value!r}")
    return int(value)


def build_request(args: argparse.Namespace) -> AskRequest:
    model = args.model or ("think" if args.think else "instruct")
    choice = ModelChoice(model, str(paths.models_dir()), args.precision, args.device)
    turn = TurnSpec(question=args.question, audio_path=args.audio)
    return AskRequest((turn,), choice, max_new_tokens=args.max_new_tokens, think=args.think)


def preflight(request: AskRequest) -> None:
    """Fail in a fraction of a second, before the engine starts, on what can be checked cheaply."""
    from engine.model.registry import resolve_model

    from engine.audio import probe_audio

    if not request.turns[-1].question.strip():
        raise HeronError("The question is empty: say what you want to know about the recording.")
    probe_audio(request.turns[-1].audio_path)
    resolve_model(request.model.model, Path(request.model.models_dir))


def run(args: argparse.Namespace) -> int:
    from app.engine_client import EngineClient

    request = build_request(args)
    preflight(request)
    client = EngineClient(log_dir=str(paths.logs_dir()))
    printer = JsonPrinter() if args.json else TextPrinter(verbose=args.verbose)
    try:
        return _stream(client, request, printer)
    finally:
        client.close()


def _stream(client, request: AskRequest, printer) -> int:
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
