"""``heron --install-desktop``: Heron in this user's application menu, offered for audio files.

Writes the launcher (``heron.desktop``, from ``assets/heron.desktop``, whose ``MimeType`` line
makes Heron one of the applications that open audio and video files; it does not take over
as the default) and the icon in the freedesktop sizes; ``--uninstall-desktop`` removes exactly
those files. The launcher runs this very Heron: the AppImage or the bundle's executable, the
``heron`` script of a pipx or venv install, or ``python -m app``.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

from app.assets import DESKTOP_TEMPLATE, ICON

APP_ID = "heron"
PNG_SIZES = (16, 22, 24, 32, 48, 64, 128, 256, 512)  # the hicolor theme's usual sizes


@dataclass(frozen=True)
class DesktopFolders:
    applications: Path  # where launchers go
    icons: Path  # the hicolor icon theme

    @classmethod
    def for_user(cls) -> DesktopFolders:
        data = Path(os.environ.get("XDG_DATA_HOME") or Path.home() / ".local" / "share")
        return cls(data / "applications", data / "icons" / "hicolor")

    def entry(self) -> Path:
        return self.applications / f"{APP_ID}.desktop"

    def icon_files(self) -> list[Path]:
        pngs = [self.icons / f"{n}x{n}" / "apps" / f"{APP_ID}.png" for n in PNG_SIZES]
        return [self.icons / "scalable" / "apps" / f"{APP_ID}.svg", *pngs]


def launch_command() -> list[str]:
    """The command that starts this Heron, as a launcher should run it."""
    if os.environ.get("APPIMAGE"):  # inside a mounted AppImage: the image file is what stays put
        return [os.environ["APPIMAGE"]]
    if getattr(sys, "frozen", False):  # the PyInstaller bundle
        return [sys.executable]
    script = Path(sys.argv[0])
    if script.name == "heron" and script.is_file():
        return [str(script.absolute())]  # not resolved: pipx's link outlives a reinstall
    return [sys.executable, "-m", "app"]


def quote_exec(arg: str) -> str:
    """One argument of a launcher's Exec line (the Desktop Entry spec's quoting)."""
    if arg and not any(c in arg for c in " \t\n\"'\\><~|&;$*?#()`="):
        return arg
    escaped = "".join("\\" + c if c in '"`$\\' else c for c in arg)
    return f'"{escaped}"'


def entry_text(command: list[str]) -> str:
    template = DESKTOP_TEMPLATE.read_text(encoding="utf-8")
    exec_line = " ".join(quote_exec(a) for a in command).replace("%", "%%")
    return template.replace("@EXEC@", exec_line).replace("@ICON@", APP_ID)


def install(folders: DesktopFolders | None = None, command: list[str] | None = None) -> list[Path]:
    """Write the launcher and icons; return the files written."""
    folders = folders or DesktopFolders.for_user()
    entry = folders.entry()
    entry.parent.mkdir(parents=True, exist_ok=True)
    entry.write_text(entry_text(command or launch_command()), encoding="utf-8")
    svg, *pngs = folders.icon_files()
    svg.parent.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(ICON, svg)
    written = [entry, svg, *render_pngs(pngs)]
    refresh_caches(folders)
    return written


def uninstall(folders: DesktopFolders | None = None) -> list[Path]:
    """Remove what ``install`` wrote; return the files that were there."""
    folders = folders or DesktopFolders.for_user()
    removed = [p for p in [folders.entry(), *folders.icon_files()] if p.is_file()]
    for path in removed:
        path.unlink()
    refresh_caches(folders)
    return removed


def render_pngs(targets: list[Path]) -> list[Path]:
    """The icon drawn at each size (``NxN`` in the folder name); none when Qt cannot draw SVG."""
    try:
        from PySide6.QtCore import Qt
        from PySide6.QtGui import QImage, QPainter
        from PySide6.QtSvg import QSvgRenderer
    except ImportError:
        return []  # the scalable icon alone still works on every current desktop
    renderer = QSvgRenderer(str(ICON))
    written = []
    for target in targets:
        size = int(target.parent.parent.name.split("x")[0])
        image = QImage(size, size, QImage.Format.Format_ARGB32)
        image.fill(Qt.GlobalColor.transparent)
        painter = QPainter(image)
        renderer.render(painter)
        painter.end()
        target.parent.mkdir(parents=True, exist_ok=True)
        if image.save(str(target)):
            written.append(target)
    return written


def refresh_caches(folders: DesktopFolders) -> None:
    """Tell the desktop about the change where its tools are installed (it notices anyway, later)."""
    for tool, folder in (
        ("update-desktop-database", folders.applications),
        ("gtk-update-icon-cache", folders.icons),
    ):
        if shutil.which(tool) and folder.is_dir():
            args = (
                [tool, "-q", "-t", str(folder)]
                if tool == "gtk-update-icon-cache"
                else [tool, "-q", str(folder)]
            )
            subprocess.run(args, check=False, capture_output=True, timeout=30)


def run(install_it: bool) -> int:
    """``heron --install-desktop`` / ``--uninstall-desktop``: do it and say what changed."""
    if install_it:
        files = install()
        print(f"Heron is in the application menu and opens audio files ({files[0]}).")
    else:
        files = uninstall()
        print(f"Removed {len(files)} files: the launcher and icons." if files else "Nothing to remove.")
    return 0
