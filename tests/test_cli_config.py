"""config.toml: defaults for the CLI's options, checked like the flags, with the flags winning."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from app.cli import _commands, build_parser
from app.cli_config import ConfigError, apply_config
from tests.cli import heron


def parsed(config: Path, *argv: str):
    parser = build_parser()
    apply_config(_commands(parser), config)
    return parser.parse_args(list(argv))


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "config.toml"
    path.write_text(text, encoding="utf-8")
    return path


def test_defaults_reach_every_command_that_has_the_option_and_a_section_wins(tmp_path):
    config = write(
        tmp_path,
        '[defaults]\nmodel = "think"\nmax_new_tokens = 300\n\n[chat]\nmax-new-tokens = 90\nvoice = "kokoro"\n'
        "push_to_talk = true\nsilence_ms = 800\n",
    )
    ask = parsed(config, "ask", "What is it?")
    assert (ask.model, ask.max_new_tokens) == ("think", 300)
    chat = parsed(config, "chat")
    assert (chat.model, chat.max_new_tokens, chat.voice, chat.push_to_talk, chat.silence_ms) == (
        "think", 90, "kokoro", True, 800
    )  # fmt: skip


def test_flags_on_the_command_line_win(tmp_path):
    config = write(tmp_path, '[ask]\nmodel = "think"\nprecision = "int8"\n')
    args = parsed(config, "ask", "--model", "captioner", "What is it?")
    assert (args.model, args.precision) == ("captioner", "int8")


def test_no_file_changes_nothing(tmp_path):
    assert parsed(tmp_path / "absent.toml", "ask", "q").model == build_parser().parse_args(["ask", "q"]).model


@pytest.mark.parametrize(
    ("text", "complaint"),
    [
        ('[ask]\nmodle = "think"\n', "[ask] has no option 'modle' (options: "),
        ("[defaults]\nvolume = 3\n", "[defaults] volume is not an option of any command"),
        ('[speak]\nvoice = "kokoro"\n', "there is no command [speak]"),
        ('model = "think"\n', "model must be inside a section"),
        (
            '[chat]\nvoice = "robot"\n',
            "[chat] voice: must be one of piper, kokoro, espeak or piper:NAME, not 'robot'",
        ),
        ("[ask]\nmax_new_tokens = -4\n", "[ask] max_new_tokens: "),
        ('[chat]\npush_to_talk = "yes"\n', "[chat] push_to_talk must be true or false"),
        ("[ask]\nthink = 1\n", "[ask] think must be true or false, not 1"),
        ("[ask]\nmodel = true\n", "[ask] model must be a number or a quoted text, not True"),
        ("[ask\nmodel = 1\n", "is not valid TOML"),
        (
            "[ask]\nmax-new-tokens = 5\nmax_new_tokens = 6\n",
            "[ask] sets both max-new-tokens and max_new_tokens, the same option: keep one",
        ),
        (
            "[defaults]\npush_to_talk = true\npush-to-talk = false\n",
            "[defaults] sets both push_to_talk and push-to-talk, the same option: keep one",
        ),
    ],
)
def test_mistakes_are_named_with_the_file_and_the_key(tmp_path, text, complaint):
    config = write(tmp_path, text)
    with pytest.raises(ConfigError) as caught:
        parsed(config, "ask", "q")
    assert str(config) in caught.value.message and complaint in caught.value.message


def test_the_cli_reports_a_broken_config_on_one_line(heron_home: Path):
    config = heron_home / "config" / "config.toml"
    config.parent.mkdir(parents=True, exist_ok=True)
    config.write_text('[ask]\nprecision = "fp8"\n', encoding="utf-8")
    result = heron("ask", "What is it?")
    assert result.status == 2
    assert result.stderr_lines == [
        f"heron: {config}: [ask] precision must be one of nf4, int8, bf16, fp32, not 'fp8'."
    ]


def _config_file(heron_home: Path) -> Path:
    config = heron_home / "config" / "config.toml"
    config.parent.mkdir(parents=True, exist_ok=True)
    return config


def test_a_config_that_is_not_utf8_is_named_on_one_line_even_for_help(heron_home: Path):
    config = _config_file(heron_home)
    config.write_bytes('[ask]\nmodel = "caf\u00e9"\n'.encode("latin-1"))
    for args in (("--help",), ("history", "list")):
        result = heron(*args)
        assert (result.status, result.stdout) == (2, "")
        assert result.stderr_lines == [
            f"heron: {config} is not UTF-8 text (byte 19): save it as UTF-8, or delete it."
        ]


def test_a_config_that_is_a_pipe_or_a_device_is_refused_unread(heron_home: Path):
    config = _config_file(heron_home)
    os.mkfifo(config)  # opening it to read would wait for a writer forever
    result = heron("history", "list", timeout=30)
    assert result.status == 2
    assert result.stderr_lines == [
        f"heron: Cannot use {config} as Heron's config: it is not a regular file (a device, pipe or socket)."
    ]
    config.unlink()
    config.symlink_to("/dev/zero")  # reading it would never end
    result = heron("history", "list", timeout=30)
    assert result.status == 2 and "is not a regular file" in result.stderr


def test_a_huge_config_is_refused_unread(heron_home: Path):
    config = _config_file(heron_home)
    config.write_text("# " + "x" * 2**20 + "\n[ask]\n", encoding="utf-8")
    result = heron("history", "list")
    assert result.status == 2
    assert result.stderr_lines == [f"heron: Cannot use {config} as Heron's config: it is larger than 1 MB."]
