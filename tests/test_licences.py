"""LICENSE and THIRD-PARTY.md: Heron's licence, and every dependency's, listed from what is installed."""

from __future__ import annotations

import subprocess
import sys
import tomllib
from pathlib import Path

from packaging.requirements import Requirement

ROOT = Path(__file__).resolve().parent.parent
REGENERATE = "run `.venv/bin/python packaging/third_party.py` and commit THIRD-PARTY.md"


def declared() -> list[str]:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]
    return [Requirement(r).name.lower().replace("_", "-") for r in project["dependencies"]]


def package_rows(text: str) -> dict[str, str]:
    """package name -> licence, from the Python packages table."""
    table = text.split("## Python packages", 1)[1]
    rows = [line.strip("|").split("|") for line in table.splitlines() if line.startswith("| ")]
    return {cells[0].strip(): cells[2].strip() for cells in rows[1:]}


def test_the_licence_is_the_gpl_version_3():
    text = (ROOT / "LICENSE").read_text(encoding="utf-8")
    assert "GNU GENERAL PUBLIC LICENSE" in text and "Version 3, 29 June 2007" in text
    assert "END OF TERMS AND CONDITIONS" in text


def test_the_generator_lists_every_installed_dependency_with_a_licence(tmp_path: Path):
    out = tmp_path / "THIRD-PARTY.md"
    subprocess.run(
        [sys.executable, str(ROOT / "packaging" / "third_party.py"), "--out", str(out)], check=True
    )
    rows = package_rows(out.read_text(encoding="utf-8"))
    assert {"torch", "transformers", "pyside6-essentials", "silero-vad", "espeakng-loader"} <= rows.keys()
    unknown = [name for name, licence in rows.items() if licence.startswith("not stated in its metadata")]
    assert unknown == [], f"add these to STATED_BY_HAND in packaging/third_party.py: {unknown}"
    text = out.read_text(encoding="utf-8")
    assert "espeak-ng library and voice data" in text and "GPL-3.0-or-later" in text
    assert "Audio Flamingo Next weights" in text and "non-commercial" in text


def test_the_committed_list_names_every_declared_dependency():
    rows = package_rows((ROOT / "THIRD-PARTY.md").read_text(encoding="utf-8"))
    missing = [name for name in declared() if name not in rows]
    assert missing == [], f"THIRD-PARTY.md lacks {missing}: {REGENERATE}"


def test_the_bundle_list_adds_what_only_the_bundle_carries(tmp_path: Path):
    out = tmp_path / "bundle.md"
    script = str(ROOT / "packaging" / "third_party.py")
    subprocess.run([sys.executable, script, "--out", str(out), "--bundle"], check=True, capture_output=True)
    text = out.read_text(encoding="utf-8")
    assert "CPython interpreter" in text and "PyInstaller bootloader" in text
