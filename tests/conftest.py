"""Shared fixtures: an isolated Heron home, and the tiny offline AF-Next model built once."""

from __future__ import annotations

import os
import re
from functools import cache
from pathlib import Path

import pytest

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
os.environ.setdefault("HF_HUB_OFFLINE", "1")  # no test may use the network


# A test module that may open, play into or record the virtual sound devices (or a window, which
# can play a recording) shares them with every other such module.
SHARES_SOUND = re.compile(r"virtual_sound|sounddevice|qtbot|voice|[Pp]layer|speaker|microphone")
MODULE_FIXTURE = re.compile(r"""scope=["']module["']""")


@cache
def worker_group(module_path: Path) -> str | None:
    """The xdist group a module's tests must share a worker in, if any."""
    text = module_path.read_text(encoding="utf-8")
    if SHARES_SOUND.search(text):
        return "sound"
    if MODULE_FIXTURE.search(text):  # built once per worker, so one worker (the bundle takes minutes)
        return module_path.stem
    return None


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Under pytest-xdist's ``--dist loadgroup``: the sound-sharing tests run on one worker, in turn,
    and a module with module-scoped fixtures stays on one worker."""
    for item in items:
        if group := worker_group(item.path):
            item.add_marker(pytest.mark.xdist_group(group))


@pytest.fixture(autouse=True)
def heron_home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Every test gets its own data, models, config and logs folders."""
    home = tmp_path / "heron-home"
    monkeypatch.setenv("HERON_HOME", str(home))
    return home


@pytest.fixture(scope="session")
def tiny_model(tmp_path_factory: pytest.TempPathFactory) -> Path:
    from engine.model.tiny import build_tiny_model

    return build_tiny_model(tmp_path_factory.mktemp("tiny-model"))


@pytest.fixture
def one_torch_thread():
    """One torch thread: on a shared 2-core machine two threads contend and run several times slower."""
    import torch

    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


@pytest.fixture
def app(qtbot, tiny_model: Path):
    """The real window and controller (offscreen), answering with the tiny model; shut down after."""
    from app.gui import build_window

    window, controller = build_window()
    qtbot.addWidget(window)
    controller.settings.model = str(tiny_model)
    controller.settings.max_new_tokens = 12
    window.show()
    yield window, controller
    controller.shutdown()
