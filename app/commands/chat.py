"""``heron chat``: a voice conversation in the terminal, optionally about a recording.

Heron listens, answers aloud, and listens again; talking over it stops it. The loop is the
engine's ``VoiceLoop`` (the desktop app drives the same one); this module only chooses the
devices and the voice, and prints what happens. Each spoken question is a turn in the history,
as in the window (``heron history list`` shows the chat).
"""

from __future__ import annotations

import argparse
import sys
import threading

from app import paths
from app.commands.options import add_model_options, add_server_option, token_count
from engine.events import Done, Error, Event, Progress, TextDelta, ThinkDelta
from engine.requests import ModelChoice


def register(commands) -> None:
    parser = commands.add_parser("chat", help="talk with Heron by voice (it answers aloud)")
    parser.add_argument("--audio", metavar="FILE", help="a recording to talk about")
    add_model_options(parser)
    add_server_option(parser)
    parser.add_argument("--input", metavar="DEVICE", help="microphone, by name or index (remembered)")
    parser.add_argument("--output", metavar="DEVICE", help="speaker, by name or index (remembered)")
    parser.add_argument(
        "--list-devices", action="store_true", help="list microphones and speakers, then exit"
    )
    parser.add_argument("--voice", type=_voice_name, default="piper", metavar="VOICE",
                        help="piper (the default), piper:NAME (an added Piper voice), kokoro or espeak; "
                        "one that does not load falls back to the next (heron models list shows them)")  # fmt: skip
    parser.add_argument(
        "--rate", type=_speaking_rate, default=1.0, help="speaking rate, 0.5 to 2 (default: 1)"
    )
    parser.add_argument("--silence-ms", type=_silence, default=600, metavar="MS",
                        help="quiet that ends your turn (default: 600)")  # fmt: skip
    parser.add_argument(
        "--push-to-talk", action="store_true", help="press Enter to talk, Enter again to send"
    )
    parser.add_argument("--no-echo-cancel", action="store_true", help="turn echo cancellation off (headsets)")
    parser.add_argument("--max-new-tokens", type=token_count, default=256, metavar="N", help="default: 256")
    parser.set_defaults(run=run)


def _speaking_rate(value: str) -> float:
    try:
        rate = float(value)
    except ValueError:
        rate = -1.0
    if not 0.3 <= rate <= 3.0:
        raise argparse.ArgumentTypeError(f"must be a number from 0.3 to 3, not {value!r}")
    return rate


def _voice_name(value: str) -> str:
    from engine.speech.tts import VOICES

    name = value.strip().lower() if ":" not in value else value.strip()
    if name in VOICES or (name.startswith("piper:") and len(name) > len("piper:")):
        return name
    raise argparse.ArgumentTypeError(f"must be one of {', '.join(VOICES)} or piper:NAME, not {value!r}")


def _silence(value: str) -> int:
    if not value.isdigit() or not 200 <= int(value) <= 5000:
        raise argparse.ArgumentTypeError(
            f"must be a whole number of milliseconds from 200 to 5000, not {value!r}"
        )
    return int(value)


def run(args: argparse.Namespace) -> int:
    from engine.voice.devices import list_devices

    if args.list_devices:
        for kind in ("input", "output"):
            print(f"{'Microphones' if kind == 'input' else 'Speakers'}:")
            for device in list_devices(kind):
                print(f"  {'*' if device.is_default else ' '} {device.describe()}")
        return 0
    from engine.history import HistoryStore

    with HistoryStore(paths.history_path()) as store:
        loop, engine = _open_loop(args, store)
        printer = ChatPrinter(verbose=args.verbose, push_to_talk=args.push_to_talk)
        try:
            loop.start()
            if args.push_to_talk:
                threading.Thread(target=_push_to_talk, args=(loop,), daemon=True).start()
            return _run_events(loop, printer)
        finally:
            loop.close()
            engine.shutdown()


def _open_loop(args: argparse.Namespace, store):
    from app.engines import open_engine
    from app.voice_model import voices_dir
    from engine.history.session import ConversationSession
    from engine.speech.voices import open_with_fallback
    from engine.voice.devices import resolve_devices
    from engine.voice.loop import ChatOptions, VoiceLoop
    from engine.voice.vad import VadOptions

    if args.server:
        model = ModelChoice(args.model or "", "")
    else:
        model = ModelChoice(args.model or "instruct", str(paths.models_dir()), args.precision, args.device,
                            cache_dir=str(paths.cache_dir()))  # fmt: skip
    duration_s = _preflight(model, args.audio, bool(args.server))
    microphone, speaker = resolve_devices(paths.config_dir(), args.input, args.output)
    for choice in (microphone, speaker):
        if choice.notice:
            print(f"heron: {choice.notice}", file=sys.stderr)
    voice, notices = open_with_fallback(args.voice, paths.models_dir(), args.rate, voices_dir())
    for notice in notices:
        print(f"heron: {notice}", file=sys.stderr)
    options = ChatOptions(
        model=model,
        vad=VadOptions(silence_ms=args.silence_ms),
        push_to_talk=args.push_to_talk,
        echo_cancel=not args.no_echo_cancel,
        max_new_tokens=args.max_new_tokens,
        conversation=ConversationSession(store, paths.spoken_dir(), model.model),
    )
    options.conversation.set_recording(args.audio, duration_s)
    engine = open_engine(args.server, str(paths.logs_dir()))
    return VoiceLoop.open(engine, voice, microphone.device, speaker.device, options), engine


def _preflight(model: ModelChoice, audio_path: str | None, on_server: bool) -> float | None:
    """The recording's duration, once it and the model are known to be there."""
    from pathlib import Path

    from engine.model.registry import resolve_model

    duration_s = None
    if audio_path:
        from engine.audio import probe_audio

        duration_s = probe_audio(audio_path).duration_s
    if not on_server:
        resolve_model(model.model, Path(model.models_dir))
    return duration_s


def _push_to_talk(loop) -> None:
    """Enter starts talking, Enter again sends; end of input ends push-to-talk."""
    talking = False
    for _ in sys.stdin:
        if talking:
            loop.stop_talking()
        else:
            loop.start_talking()
        talking = not talking


def _run_events(loop, printer: ChatPrinter) -> int:
    events = loop.events()
    while True:
        try:
            event = next(events)
        except StopIteration:
            return printer.status
        except KeyboardInterrupt:
            print("\nheron: bye", file=sys.stderr)
            return 0
        printer.show(event)


class ChatPrinter:
    """What a person needs to see in a terminal: whose turn it is, the answer, what went wrong."""

    def __init__(self, verbose: bool = False, push_to_talk: bool = False):
        self.verbose = verbose
        self.push_to_talk = push_to_talk
        self.status = 0
        self._answering = False

    def show(self, event: Event) -> None:
        kind = event.type
        if kind == "listening" and event.listening:
            hint = (
                "press Enter, speak, press Enter"
                if self.push_to_talk
                else "just speak; talk over me to stop me"
            )
            self._line(f"Listening ({hint}). Ctrl+C ends the chat.")
        elif kind == "utterance":
            note = " (cut short: the microphone stopped)" if event.cut_short else ""
            self._line(f"You: [spoken question, {event.duration_s:.1f} s]{note}")
        elif kind == "barge_in":
            self._end_answer("(interrupted)")
        elif kind == "notice":
            self._line(f"heron: {event.message}", err=True)
        elif isinstance(event, Progress) and event.stage == "load_model" and event.done == 0:
            self._line("Loading the model…", err=True)
        elif isinstance(event, (TextDelta, ThinkDelta)):
            self._answer(event)
        elif isinstance(event, Done):
            self._done(event)
        elif isinstance(event, Error):
            self._end_answer()
            self._line(f"heron: {event.message}", err=True)
            self.status = 2 if event.kind == "device" else self.status

    def _answer(self, event: TextDelta | ThinkDelta) -> None:
        if isinstance(event, ThinkDelta) and not self.verbose:
            return
        if not self._answering:
            sys.stdout.write("Heron: ")
            self._answering = True
        sys.stdout.write(event.text)
        sys.stdout.flush()

    def _done(self, event: Done) -> None:
        self._end_answer()
        if self.verbose:
            stats = " ".join(f"{k}={v}" for k, v in event.stats.items())
            self._line(stats, err=True)

    def _end_answer(self, note: str = "") -> None:
        if self._answering:
            sys.stdout.write(f" {note}\n" if note else "\n")
            sys.stdout.flush()
            self._answering = False
        elif note:
            self._line(note)

    @staticmethod
    def _line(text: str, err: bool = False) -> None:
        print(text, file=sys.stderr if err else sys.stdout, flush=True)
