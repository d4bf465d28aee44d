"""One exception family for every failure a person can act on.

Each error carries a ``kind`` (stable, machine-readable) and a one-line message that says
what went wrong and what to do. The CLI prints the message and exits with status 2; the
GUI shows it; the engine process turns it into an ``Error`` event.
"""

from __future__ import annotations


class HeronError(Exception):
    """A failure with a message a person can act on."""

    kind = "error"

    def __init__(self, message: str):
        super().__init__(" ".join(message.split()))  # always one line

    @property
    def message(self) -> str:
        return str(self)


class AudioError(HeronError):
    """A file that is not usable audio."""

    kind = "audio"


class ModelError(HeronError):
    """A model that cannot be found, loaded or run."""

    kind = "model"


class ModelMissingError(ModelError):
    kind = "model_missing"


class OutOfMemoryError(ModelError):
    kind = "out_of_memory"


class DeviceError(HeronError):
    """A compute or sound device that is missing or unusable."""

    kind = "device"


class DiskSpaceError(HeronError):
    kind = "disk_space"


class RequestError(HeronError):
    """A request with bad arguments (empty question, bad token count, …)."""

    kind = "request"


class EngineCrashedError(HeronError):
    kind = "engine_crashed"


class CancelledError(HeronError):
    kind = "cancelled"
