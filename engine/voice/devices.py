"""Sound devices: list them, choose one by name or index, remember the choice.

A choice is remembered by name (indexes change when devices come and go) in a small JSON file
in the settings folder the caller passes. When a remembered device is gone, the default is used
and a notice says so; a device named explicitly that is not there is an error, since the user
asked for it just now.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from engine.errors import DeviceError

Kind = Literal["input", "output"]
SETTINGS_FILE = "voice-devices.json"
_NOUN = {"input": "microphone", "output": "speaker"}


@dataclass(frozen=True)
class SoundDevice:
    index: int
    name: str
    hostapi: str
    max_inputs: int
    max_outputs: int
    default_rate: int
    is_default: bool = False

    def channels(self, kind: Kind) -> int:
        return self.max_inputs if kind == "input" else self.max_outputs

    def describe(self) -> str:
        return f"{self.index}: {self.name} ({self.hostapi})"


@dataclass(frozen=True)
class DeviceChoice:
    device: SoundDevice
    notice: str | None = None  # set when a remembered device was replaced by the default


def refresh() -> None:
    """Make PortAudio look again for devices plugged in or removed (no stream may be open)."""
    import sounddevice as sd

    sd._terminate()
    sd._initialize()


def list_devices(kind: Kind | None = None) -> list[SoundDevice]:
    """Devices as PortAudio sees them now; ``kind`` keeps those with input or output channels."""
    import sounddevice as sd

    try:
        infos = sd.query_devices()
        hostapis = sd.query_hostapis()
        defaults = sd.default.device
    except sd.PortAudioError as exc:
        raise DeviceError(f"The sound system cannot be queried ({exc}): check that it is running.") from exc
    devices = []
    for info in infos:
        default_index = defaults[0 if kind == "input" else 1] if kind else -2
        device = SoundDevice(
            index=int(info["index"]),
            name=str(info["name"]),
            hostapi=str(hostapis[info["hostapi"]]["name"]),
            max_inputs=int(info["max_input_channels"]),
            max_outputs=int(info["max_output_channels"]),
            default_rate=int(info["default_samplerate"]),
            is_default=int(info["index"]) == default_index,
        )
        if kind is None or device.channels(kind) > 0:
            devices.append(device)
    return devices


def default_device(kind: Kind, devices: list[SoundDevice] | None = None) -> SoundDevice:
    """The system's default device for ``kind``, else the first one that can do it."""
    devices = list_devices(kind) if devices is None else devices
    if not devices:
        raise DeviceError(_nothing_found(kind))
    return next((d for d in devices if d.is_default), devices[0])


def find_device(spec: str | int, kind: Kind, devices: list[SoundDevice]) -> SoundDevice | None:
    """By index, exact name, or a unique part of a name (case-insensitive); None when absent.

    Raises DeviceError when a part of a name matches several devices.
    """
    if isinstance(spec, int) or str(spec).strip().isdigit():
        return next((d for d in devices if d.index == int(spec)), None)
    wanted = str(spec).strip().lower()
    exact = [d for d in devices if d.name.lower() == wanted]
    if exact:
        return exact[0]
    partial = [d for d in devices if wanted in d.name.lower()]
    if len(partial) > 1:
        names = "; ".join(d.describe() for d in partial)
        raise DeviceError(
            f"{spec!r} matches several {_NOUN[kind]}s ({names}): give more of the name or its index."
        )
    return partial[0] if partial else None


def choose_device(
    kind: Kind, requested: str | int | None = None, remembered: str | None = None
) -> DeviceChoice:
    """The device to use: the one requested now, else the remembered one, else the default."""
    devices = list_devices(kind)
    if not devices:
        raise DeviceError(_nothing_found(kind))
    if requested is not None and str(requested) != "":
        found = find_device(requested, kind, devices)
        if found is None:
            names = "; ".join(d.describe() for d in devices)
            raise DeviceError(f"No {_NOUN[kind]} {requested!r} is connected. Available: {names}.")
        return DeviceChoice(found)
    if remembered:
        found = find_device(remembered, kind, devices)
        if found is not None:
            return DeviceChoice(found)
        fallback = default_device(kind, devices)
        return DeviceChoice(
            fallback, f"The {_NOUN[kind]} {remembered!r} is not connected: using {fallback.name!r} instead."
        )
    return DeviceChoice(default_device(kind, devices))


def _nothing_found(kind: Kind) -> str:
    if kind == "input":
        return (
            "No microphone found: connect one (or a headset), check that it is enabled and not muted "
            "in the system's sound settings, then try again."
        )
    return (
        "No speaker or headphones found: connect some, check that the output is enabled in the "
        "system's sound settings, then try again."
    )


class DeviceMemory:
    """The remembered input and output device names, in ``settings_dir/voice-devices.json``."""

    def __init__(self, settings_dir: Path):
        self.path = Path(settings_dir) / SETTINGS_FILE

    def load(self) -> dict[str, str]:
        try:
            data = json.loads(self.path.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            return {}
        return {k: v for k, v in data.items() if k in ("input", "output") and isinstance(v, str)}

    def get(self, kind: Kind) -> str | None:
        return self.load().get(kind)

    def remember(self, kind: Kind, device: SoundDevice) -> None:
        data = self.load()
        data[kind] = device.name
        self.path.parent.mkdir(parents=True, exist_ok=True)
        tmp = self.path.with_suffix(".tmp")
        tmp.write_text(json.dumps(data, indent=1), encoding="utf-8")
        tmp.replace(self.path)


def resolve_devices(
    settings_dir: Path | None,
    requested_input: str | int | None = None,
    requested_output: str | int | None = None,
) -> tuple[DeviceChoice, DeviceChoice]:
    """Choose both devices; an explicit choice is remembered for next time."""
    memory = DeviceMemory(settings_dir) if settings_dir else None
    choices = []
    for kind, requested in (("input", requested_input), ("output", requested_output)):
        choice = choose_device(kind, requested, memory.get(kind) if memory else None)
        if memory and requested not in (None, ""):
            memory.remember(kind, choice.device)
        choices.append(choice)
    return choices[0], choices[1]
