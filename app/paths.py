"""Where Heron keeps its data, models, caches, settings and logs.

``HERON_HOME`` moves everything under one folder (tests and portable installs use it);
otherwise the platform's own directories are used.
"""

from __future__ import annotations

import os
from pathlib import Path

import platformdirs

APP_NAME = "Heron"


def home_override() -> str | None:
    return os.environ.get("HERON_HOME") or None


def _root(kind: str) -> Path:
    home = home_override()
    if home:
        return Path(home) / kind
    getter = {
        "data": platformdirs.user_data_dir,
        "config": platformdirs.user_config_dir,
        "cache": platformdirs.user_cache_dir,
        "logs": platformdirs.user_log_dir,
    }[kind]
    return Path(getter(APP_NAME, appauthor=False))


def data_dir() -> Path:
    return _root("data")


def models_dir() -> Path:
    return data_dir() / "models"


def adapters_dir() -> Path:
    """Where trained adapters go by default (``heron train --out NAME``) and where the app lists them."""
    return data_dir() / "adapters"


def config_dir() -> Path:
    return _root("config")


def cache_dir() -> Path:
    return _root("cache")


def logs_dir() -> Path:
    return _root("logs")


def history_path() -> Path:
    return data_dir() / "history.sqlite3"


def spoken_dir() -> Path:
    """Where spoken questions' audio is kept (``engine.history.session``)."""
    return data_dir() / "spoken"
