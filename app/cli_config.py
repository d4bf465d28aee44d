"""The CLI's own settings: defaults for any command's options, in a TOML file.

``config.toml`` in Heron's settings folder (``heron --help`` names it)::

    [defaults]            # every command that has the option
    model = "think"
    precision = "nf4"

    [chat]                # one command
    voice = "kokoro"
    silence_ms = 800

Keys are option names (``max-new-tokens`` or ``max_new_tokens``, not both in one section); flags
on the command line win.
``heron train`` is left out: it has a settings file of its own (``heron train CONFIG.toml``).
Values are checked like the flags themselves, so a typo is an error naming the file and the key,
never a silently ignored setting.
"""

from __future__ import annotations

import argparse
import tomllib
from pathlib import Path
from typing import Any, NamedTuple

from engine.errors import HeronError
from engine.files import MISSING, FileRefusedError, read_limited

FILE_NAME = "config.toml"
DEFAULTS_SECTION = "defaults"
MAX_BYTES = 2**20  # a config is a few hundred bytes; anything far bigger is not one


class ConfigError(HeronError):
    kind = "config"


class Option(NamedTuple):
    action: argparse.Action
    is_flag: bool  # store_true or store_false: set with true or false


class ConfigurableParser(argparse.ArgumentParser):
    """An ArgumentParser that keeps the options a config.toml may set (argparse's own list is private).

    Options added through argument groups are not kept: ``train``, the one command with groups,
    has a settings file of its own.
    """

    def __init__(self, *args, **kwargs):
        self.config_options: list[Option] = []  # before argparse's __init__, which adds --help
        super().__init__(*args, **kwargs)

    def add_argument(self, *args, configurable: bool = True, **kwargs) -> argparse.Action:
        """``configurable=False``: an option config.toml may not set."""
        action = super().add_argument(*args, **kwargs)
        kind = kwargs.get("action")
        # One-off actions (help, version) take no default.
        if configurable and action.option_strings and kind not in ("help", "version"):
            self.config_options.append(Option(action, kind in ("store_true", "store_false")))
        return action


def config_path() -> Path:
    from app import paths

    return paths.config_dir() / FILE_NAME


def apply_config(commands: dict[str, ConfigurableParser], path: Path) -> None:
    """Make the settings in ``path`` (if it exists) the defaults of the ``commands``' options."""
    sections = _read(path)
    for name, section in sections.items():
        _refuse_spellings(section, path, f"[{name}]")
    for key, value in sections.pop(DEFAULTS_SECTION, {}).items():
        takers = [parser for parser in commands.values() if _option(parser, key)]
        if not takers:
            raise ConfigError(f"{path}: [{DEFAULTS_SECTION}] {key} is not an option of any command.")
        for parser in takers:
            _set_defaults(parser, {key: value}, path, f"[{DEFAULTS_SECTION}]")
    for name, section in sections.items():  # after [defaults]: a command's own section wins
        if name not in commands:
            raise ConfigError(f"{path}: there is no command [{name}] (commands: {', '.join(commands)}).")
        _set_defaults(commands[name], section, path, f"[{name}]")


def _read(path: Path) -> dict[str, dict[str, Any]]:
    try:
        data = tomllib.loads(read_limited(path, MAX_BYTES).decode("utf-8"))
    except FileRefusedError as exc:
        if exc.reason == MISSING:
            return {}
        raise ConfigError(f"Cannot use {path} as Heron's config: it {exc.reason}.") from exc
    except UnicodeDecodeError as exc:
        raise ConfigError(
            f"{path} is not UTF-8 text (byte {exc.start + 1}): save it as UTF-8, or delete it."
        ) from exc
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{path} is not valid TOML: {exc}. Fix it or delete it.") from exc
    loose = [key for key, value in data.items() if not isinstance(value, dict)]
    if loose:
        raise ConfigError(f"{path}: {loose[0]} must be inside a section, e.g. [{DEFAULTS_SECTION}] or [ask].")
    return data


def _set_defaults(parser: ConfigurableParser, section: dict, path: Path, where: str) -> None:
    for key, value in section.items():
        option = _option(parser, key)
        if option is None:
            known = ", ".join(sorted(o.action.option_strings[-1].lstrip("-") for o in parser.config_options))
            raise ConfigError(f"{path}: {where} has no option {key!r} (options: {known}).")
        parser.set_defaults(**{option.action.dest: _checked(option, value, f"{path}: {where} {key}")})


def _refuse_spellings(section: dict, path: Path, where: str) -> None:
    """``max-new-tokens`` and ``max_new_tokens`` in one section: which one wins would be silent."""
    first: dict[str, str] = {}
    for key in section:
        if (earlier := first.setdefault(key.replace("_", "-"), key)) != key:
            raise ConfigError(f"{path}: {where} sets both {earlier} and {key}, the same option: keep one.")


def _option(parser: ConfigurableParser, key: str) -> Option | None:
    flag = "--" + key.replace("_", "-")
    return next((o for o in parser.config_options if flag in o.action.option_strings), None)


def _checked(option: Option, value: Any, where: str) -> Any:
    action, is_flag = option
    if is_flag != isinstance(value, bool):
        wanted = "true or false" if is_flag else "a number or a quoted text"
        raise ConfigError(f"{where} must be {wanted}, not {value!r}.")
    if is_flag:
        return value  # the value of the option's destination, as when the flag is given or not
    if isinstance(value, (dict, list)):
        raise ConfigError(f"{where} must be a single value, not {value!r}.")
    value = str(value)
    if action.type is not None:
        try:
            value = action.type(value)
        except (argparse.ArgumentTypeError, TypeError, ValueError) as exc:
            raise ConfigError(f"{where}: {exc}.") from exc
    if action.choices is not None and value not in action.choices:
        raise ConfigError(f"{where} must be one of {', '.join(map(str, action.choices))}, not {value!r}.")
    return value
