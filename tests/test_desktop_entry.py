"""heron --install-desktop / --uninstall-desktop: the launcher, its audio types and the icons."""

from __future__ import annotations

import configparser
import sys
from pathlib import Path

import pytest

from app import desktop_entry
from app.cli import main
from app.desktop_entry import PNG_SIZES, DesktopFolders, install, quote_exec, uninstall


def read_entry(path: Path) -> configparser.SectionProxy:
    parser = configparser.ConfigParser(interpolation=None)
    parser.optionxform = str
    parser.read(path)
    return parser["Desktop Entry"]


def test_install_writes_the_launcher_and_every_icon_size_and_uninstall_removes_them(tmp_path: Path):
    folders = DesktopFolders(tmp_path / "applications", tmp_path / "icons" / "hicolor")
    written = install(folders, ["/opt/My Heron/heron"])
    entry = read_entry(folders.entry())
    assert entry["Exec"] == '"/opt/My Heron/heron" open %f'
    assert entry["Icon"] == "heron" and "audio/flac" in entry["MimeType"].split(";")
    assert set(folders.icon_files()) <= set(written)

    from PySide6.QtGui import QImage

    for size in PNG_SIZES:
        image = QImage(str(folders.icons / f"{size}x{size}" / "apps" / "heron.png"))
        assert (image.width(), image.height()) == (size, size)
        assert image.pixelColor(size // 2, size // 2).alpha() > 0  # drawn, not blank
    assert sorted(uninstall(folders)) == sorted(
        p for p in written if p.suffix in (".desktop", ".svg", ".png")
    )
    assert not folders.entry().exists() and not any(p.exists() for p in folders.icon_files())
    assert uninstall(folders) == []  # twice is harmless


@pytest.mark.parametrize(
    ("arg", "quoted"),
    [
        ("/usr/bin/heron", "/usr/bin/heron"),
        ("/home/a b/heron", '"/home/a b/heron"'),
        ('/x/"q"$`\\', '"/x/\\"q\\"\\$\\`\\\\"'),
    ],
)
def test_exec_arguments_are_quoted_as_the_spec_says(arg: str, quoted: str):
    assert quote_exec(arg) == quoted


def test_a_percent_in_the_path_is_doubled(tmp_path: Path):
    text = desktop_entry.entry_text(["/opt/100%/heron"])
    assert "Exec=/opt/100%%/heron open %f" in text


def test_the_launcher_runs_the_bundle_itself_when_frozen(monkeypatch: pytest.MonkeyPatch):
    monkeypatch.delenv("APPIMAGE", raising=False)
    monkeypatch.setattr(sys, "frozen", True, raising=False)
    monkeypatch.setattr(sys, "executable", "/opt/heron/heron")
    assert desktop_entry.launch_command() == ["/opt/heron/heron"]


def test_an_appimage_launcher_runs_the_image_file(monkeypatch: pytest.MonkeyPatch):
    monkeypatch.setenv("APPIMAGE", "/home/a/Apps/Heron-x86_64.AppImage")
    assert desktop_entry.launch_command() == ["/home/a/Apps/Heron-x86_64.AppImage"]


def test_the_launcher_runs_python_m_app_from_a_checkout(monkeypatch: pytest.MonkeyPatch):
    monkeypatch.delenv("APPIMAGE", raising=False)
    monkeypatch.setattr(sys, "argv", ["pytest"])
    assert desktop_entry.launch_command() == [sys.executable, "-m", "app"]


def test_the_command_line_flags(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys):
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path))
    assert main(["--install-desktop"]) == 0
    assert (tmp_path / "applications" / "heron.desktop").is_file()
    assert main(["--uninstall-desktop"]) == 0
    assert not (tmp_path / "applications" / "heron.desktop").exists()
    assert "Removed 11 files" in capsys.readouterr().out
    with pytest.raises(SystemExit) as exit_:
        main(["--install-desktop", "--uninstall-desktop"])
    assert exit_.value.code == 2
