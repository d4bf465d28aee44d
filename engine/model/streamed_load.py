"""Load a checkpoint one tensor at a time, so a quantized load needs little more than the
model's own memory.

transformers 5 already converts and quantizes tensor by tensor when it quantizes on load, yet
the full-size nf4 load peaked at 23.4 GB RSS for a 10.3 GB model: it reads the shards through
mmap, so every page it touches counts in the process's RSS until the files close, and glibc
keeps the heap pages that the freed full-precision copies leave behind. Here the same
``from_pretrained`` (the same renaming, quantization and tying, so bit-identical weights) gets
a state dict whose entries read their bytes with ``pread`` only when transformers asks for
them, and the heap's free pages go back to the system before each read. Measured at full size
on the CPU: nf4 peaked at 11.6 GB RSS for a 10.2 GB footprint (Python and torch included).
"""

from __future__ import annotations

import ctypes
import ctypes.util
import functools
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any


class _LazyTensor:
    """One checkpoint tensor, read from its shard when indexed (``tensor[...]``)."""

    __slots__ = ("_slice",)

    def __init__(self, safetensors_slice):
        self._slice = safetensors_slice

    def __getitem__(self, index):
        trim_heap()  # the previous tensor's temporaries are freed by now: hand their pages back
        return self._slice[index]

    def __getattr__(self, name: str):  # get_shape, get_dtype: what transformers asks of a slice
        return getattr(self._slice, name)


@contextmanager
def streamed_state_dict(files: Sequence[Path]) -> Iterator[dict[str, Any]]:
    """Every tensor of ``files`` by name, unread; the files stay open while the block runs."""
    from safetensors import safe_open

    handles = []
    try:
        state: dict[str, Any] = {}
        for file in files:
            handle = safe_open(str(file), framework="pt", device="cpu", backend="pread")
            handles.append(handle)
            state.update((name, _LazyTensor(handle.get_slice(name))) for name in handle.keys())  # noqa: SIM118 (not iterable)
        yield state
    finally:
        for handle in handles:
            handle.__exit__(None, None, None)
        trim_heap()


def load_streamed(model_class, config, files: Sequence[Path], **kwargs):
    """``model_class.from_pretrained`` on ``files`` read tensor by tensor; ``kwargs`` as for it
    (dtype, quantization_config, device_map, generation_config)."""
    with streamed_state_dict(files) as state:
        model = model_class.from_pretrained(None, config=config, state_dict=state, **kwargs)
    trim_heap()
    return model


@functools.cache
def _malloc_trim():
    """glibc's ``malloc_trim``, or None where the C library has none (macOS, Windows, musl)."""
    name = ctypes.util.find_library("c")
    try:
        return getattr(ctypes.CDLL(name), "malloc_trim", None) if name else None
    except OSError:
        return None


def trim_heap() -> None:
    """Return the heap's free pages to the system (glibc); a no-op elsewhere."""
    trim = _malloc_trim()
    if trim is not None:
        trim(0)
