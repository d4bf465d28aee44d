"""The app's persisted settings (QSettings), typed, with their defaults in one place."""

from __future__ import annotations

from dataclasses import dataclass, fields

from PySide6.QtCore import QSettings

MAX_RECENT = 10


@dataclass
class Settings:
    model: str = ""  # a registry name (instruct, think, captioner) or a model folder; "" = not chosen
    adapter: str = ""  # a trained adapter's folder, answering on top of the model; "" = the base model
    precision: str = ""  # "" = the largest that fits in free memory (engine/model/fit.py)
    device: str = ""  # "" = automatic
    engine: str = "local"  # local: the model on this computer; server: at server_url
    server_url: str = ""
    server_token: str = ""  # kept with the other settings, readable by this user only
    think: bool = False
    snap_to_events: bool = True  # a step plays from where its event starts, not the whole second cited
    max_new_tokens: int = 512
    input_device: str = ""
    output_device: str = ""
    voice: str = "piper"  # the natural voice that ships with Heron
    speaking_rate: float = 1.0
    vad_threshold: float = 0.5
    silence_ms: int = 600
    echo_cancel: bool = True
    theme: str = "system"  # system, light or dark

    @classmethod
    def load(cls, store: QSettings) -> Settings:
        values = {}
        for field in fields(cls):
            default = field.default
            raw = store.value(f"settings/{field.name}", default)
            values[field.name] = _coerce(raw, type(default))
        return cls(**values)

    def save(self, store: QSettings) -> None:
        for field in fields(self):
            store.setValue(f"settings/{field.name}", getattr(self, field.name))
        store.sync()


def _coerce(raw, kind):
    if kind is bool:
        return raw if isinstance(raw, bool) else str(raw).lower() in ("1", "true", "yes")
    try:
        return kind(raw)
    except (TypeError, ValueError):
        return kind()


def recent_files(store: QSettings) -> list[str]:
    value = store.value("recent_files", [])
    return [value] if isinstance(value, str) else list(value or [])


def add_recent_file(store: QSettings, path: str) -> list[str]:
    files = [path, *[p for p in recent_files(store) if p != path]][:MAX_RECENT]
    store.setValue("recent_files", files)
    return files


def open_settings() -> QSettings:
    """Settings in the platform's place, or under HERON_HOME when it is set (tests, portable use)."""
    from app import paths

    if paths.home_override():
        return QSettings(str(paths.config_dir() / "heron.ini"), QSettings.Format.IniFormat)
    return QSettings("Heron", "Heron")
