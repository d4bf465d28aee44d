"""``heron chat``'s options (registered here as the CLI will: app.cli adds the module)."""

from __future__ import annotations

import argparse

import pytest

from app.commands import chat
from engine.events import Done, Error, TextDelta, ThinkDelta
from engine.voice.events import BargeIn, ListeningChanged, Utterance
from tests.virtual_sound import sound_server  # noqa: F401  (fixture)


def parse(*argv: str) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="heron")
    parser.add_argument("--verbose", action="store_true")
    commands = parser.add_subparsers(dest="command")
    chat.register(commands)
    return parser.parse_args(["chat", *argv])


def test_defaults():
    args = parse()
    assert (args.voice, args.rate, args.silence_ms, args.push_to_talk, args.no_echo_cancel) == (
        "piper", 1.0, 600, False, False)  # fmt: skip
    assert args.run is chat.run


@pytest.mark.parametrize("voice", ["piper", "Piper", "espeak", "kokoro", "piper:en_GB-alan-medium"])
def test_every_voice_name_is_taken(voice):
    assert parse("--voice", voice).voice == (voice.lower() if ":" not in voice else voice)


def test_every_option():
    args = parse("--audio", "talk.wav", "--model", "think", "--precision", "int8", "--device", "cpu",
                 "--input", "USB Mic", "--output", "3", "--voice", "kokoro", "--rate", "1.3",
                 "--silence-ms", "900", "--push-to-talk", "--no-echo-cancel")  # fmt: skip
    assert args.audio == "talk.wav" and args.model == "think" and args.precision == "int8"
    assert args.input == "USB Mic" and args.output == "3" and args.voice == "kokoro"
    assert args.rate == 1.3 and args.silence_ms == 900 and args.push_to_talk and args.no_echo_cancel


@pytest.mark.parametrize(("option", "value"), [("--rate", "fast"), ("--rate", "9"), ("--silence-ms", "50"),
                                               ("--voice", "robot"), ("--voice", "piper:")])  # fmt: skip
def test_bad_values_are_refused(option, value, capsys):
    with pytest.raises(SystemExit):
        parse(option, value)
    assert option.lstrip("-").split("-")[0] in capsys.readouterr().err


@pytest.mark.usefixtures("sound_server")
def test_list_devices(capsys):
    assert chat.run(parse("--list-devices")) == 0
    out = capsys.readouterr().out
    assert "Microphones:" in out and "Speakers:" in out and "pulse" in out


def test_the_printer_shows_turns_answers_and_interruptions(capsys):
    printer = chat.ChatPrinter()
    for event in (ListeningChanged(True), Utterance(2.5), ThinkDelta("hidden"), TextDelta("A dog "),
                  TextDelta("barks."), BargeIn(3.0, 120.0), Done({"interrupted": True}),
                  Error("device", "The microphone 'x' stopped working.")):  # fmt: skip
        printer.show(event)
    out, err = capsys.readouterr()
    assert "Listening" in out and "You: [spoken question, 2.5 s]" in out
    assert "Heron: A dog barks. (interrupted)" in out and "hidden" not in out
    assert "stopped working" in err and printer.status == 2


@pytest.mark.parametrize(("argv", "spoken_by", "notice"), [((), "piper", None),
                                                            (("--voice", "piper:not-added"), "piper", "not installed")])  # fmt: skip
def test_heron_chat_speaks_with_piper_out_of_the_box(monkeypatch, capsys, argv, spoken_by, notice):
    """The voice heron chat opens: Piper by default; a voice that does not open gives way, with a notice."""
    import app.engines
    import engine.voice.devices as devices
    from engine.voice.devices import DeviceChoice, SoundDevice
    from engine.voice.loop import VoiceLoop

    device = DeviceChoice(SoundDevice(0, "virtual", "pulse", 1, 1, 48000.0, True))
    monkeypatch.setattr(devices, "resolve_devices", lambda *a: (device, device))
    monkeypatch.setattr(chat, "_preflight", lambda *a: None)
    monkeypatch.setattr(app.engines, "open_engine", lambda *a: object())
    monkeypatch.setattr(VoiceLoop, "open", classmethod(lambda cls, engine, voice, *a: voice))
    voice, _engine = chat._open_loop(parse(*argv), store=None)
    assert voice.name == spoken_by
    err = capsys.readouterr().err
    assert (notice in err and "Piper instead" in err) if notice else "instead" not in err
