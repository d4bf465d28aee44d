"""The wheel in a fresh venv, and the Linux bundle with no venv on PATH (slow: minutes each).

Measured on the 2-core machine: the wheel's test about 2 min (building 4 s, installing it and
its dependencies into a fresh venv 60 to 95 s, the self-test 12 s); the bundle's about 6 min
(PyInstaller 4 to 5 min, the tarball 30 s, the self-test, an answer, install and uninstall).
"""

from __future__ import annotations

import configparser
import json
import os
import subprocess
import sys
import tarfile
from pathlib import Path

import pytest

from app.assets import SAMPLE_RECORDING

ROOT = Path(__file__).resolve().parent.parent
TORCH_PIN = "torch==2.13.0"  # as packaging/install.sh: a looser pin may pull a multi-GB build
pytestmark = pytest.mark.slow


def bare_env(home: Path, **extra: str) -> dict[str, str]:
    """A user's environment with no venv anywhere on PATH."""
    return {"HOME": str(home), "PATH": "/usr/bin:/bin", "LANG": "C.UTF-8", **extra}


def run(args: list, env: dict | None = None, timeout: float = 900) -> subprocess.CompletedProcess:
    done = subprocess.run([str(a) for a in args], env=env, capture_output=True, text=True, timeout=timeout)
    assert done.returncode == 0, f"{args}: {done.stdout[-3000:]}\n{done.stderr[-3000:]}"
    return done


def launcher_exec(data_home: Path) -> str:
    entry = configparser.ConfigParser(interpolation=None)
    entry.optionxform = str
    entry.read(data_home / "applications" / "heron.desktop")
    return entry["Desktop Entry"]["Exec"]


def assert_self_test_passes(heron: Path, home: Path) -> None:
    out = run([heron, "doctor", "--self-test"], bare_env(home)).stdout
    assert out.splitlines()[-1] == "All 5 parts passed.", out


@pytest.fixture(scope="module")
def bundle(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """packaging/build_bundle.sh, once: the output folder with heron/ and the tarball."""
    out = tmp_path_factory.mktemp("bundle")
    run(["bash", ROOT / "packaging" / "build_bundle.sh", out], {**os.environ}, timeout=1500)
    return out


def test_the_wheel_installs_and_runs_in_a_fresh_venv(tmp_path: Path):
    dist = tmp_path / "dist"
    run([sys.executable, "-m", "build", "--no-isolation", "--outdir", dist, ROOT])
    wheel = next(dist.glob("heron-*-py3-none-any.whl"))
    assert next(dist.glob("heron-*.tar.gz")).stat().st_size > 0
    venv = tmp_path / "venv"
    run([sys.executable, "-m", "venv", venv])
    run([venv / "bin" / "pip", "install", "-q", wheel, TORCH_PIN])
    heron = venv / "bin" / "heron"
    assert run([heron, "--version"], bare_env(tmp_path)).stdout.startswith("heron ")
    assert_self_test_passes(heron, tmp_path)  # the assets came as package data
    run([heron, "--install-desktop"], bare_env(tmp_path, XDG_DATA_HOME=str(tmp_path / "share")))
    assert launcher_exec(tmp_path / "share") == f"{heron} open %f"


def test_the_bundle_runs_with_no_venv_on_path_and_its_tarball_installs_and_uninstalls(
    bundle: Path, tmp_path: Path, tiny_model: Path
):
    """One test for both, so the bundle is built once even when pytest-xdist would tear it down between tests."""
    assert_bundle_runs(bundle, tmp_path / "run", tiny_model)
    assert_tarball_round_trip(bundle, tmp_path / "install")


def assert_bundle_runs(bundle: Path, tmp_path: Path, tiny_model: Path) -> None:
    tmp_path.mkdir()
    heron = bundle / "heron" / "heron"
    assert run([heron, "--version"], bare_env(tmp_path)).stdout.startswith("heron ")
    assert_self_test_passes(heron, tmp_path)
    asked = [
        heron,
        "ask",
        SAMPLE_RECORDING,
        "What happens?",
        "--model",
        tiny_model,
        "--json",
        "--max-new-tokens",
        "8",
    ]
    events = [json.loads(line) for line in run(asked, bare_env(tmp_path)).stdout.splitlines()]
    assert events[-1]["type"] == "done" and events[-1]["stats"]["new_tokens"] == 8
    for name in ("LICENSE", "THIRD-PARTY.md", "install.sh", "uninstall.sh", "README.txt"):
        assert (bundle / "heron" / name).is_file(), name
    assert "PyInstaller bootloader" in (bundle / "heron" / "THIRD-PARTY.md").read_text(encoding="utf-8")


def assert_tarball_round_trip(bundle: Path, tmp_path: Path) -> None:
    tmp_path.mkdir()
    tarball = next(bundle.glob("heron-*-linux-*-cpu.tar.gz"))
    with tarfile.open(tarball) as packed:
        packed.extractall(tmp_path / "unpacked", filter="tar")
    prefix, share = tmp_path / "prefix", tmp_path / "share"
    env = bare_env(tmp_path, XDG_DATA_HOME=str(share))
    run(["bash", tmp_path / "unpacked" / "heron" / "install.sh", "--prefix", prefix], env)
    assert run([prefix / "bin" / "heron", "--version"], env).stdout.startswith("heron ")
    assert launcher_exec(share) == f"{prefix / 'lib' / 'heron' / 'heron'} open %f"
    assert (share / "icons" / "hicolor" / "256x256" / "apps" / "heron.png").is_file()
    run(["bash", prefix / "lib" / "heron" / "uninstall.sh", "--prefix", prefix], env)
    assert not (prefix / "lib" / "heron").exists() and not (prefix / "bin" / "heron").exists()
    left = [p for p in share.rglob("*") if p.is_file() and p.name != "icon-theme.cache"]
    assert left == []
