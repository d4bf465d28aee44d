"""Heron's look: its own light and dark palettes, one style sheet (assets/theme.qss) and themed icons.

Qt's colour-scheme hint needs a desktop theme to act on (plain X11 has none), so Heron sets its
own palette: "dark" and "light" always look so, and "system" takes the light or dark one as the
desktop's colour scheme says (light where it says nothing). Widgets that draw by hand read the
palette roles (Base, Text, Highlight, Link, PlaceholderText…), so they follow the theme too.

Icons are SVGs in assets/icons drawn with ``currentColor``; ``set_icon`` paints one in the
palette's text colour and remembers its name on the widget, so a theme change repaints it.
"""

from __future__ import annotations

from pathlib import Path
from string import Template

from PySide6.QtCore import QByteArray, QSize, Qt
from PySide6.QtGui import QColor, QGuiApplication, QIcon, QPainter, QPalette, QPixmap
from PySide6.QtSvg import QSvgRenderer
from PySide6.QtWidgets import QApplication, QWidget

# The top-level assets folder (beside ui/ in the checkout, the wheel and the bundle alike).
ASSETS_DIR = Path(__file__).resolve().parent.parent / "assets"
ICONS_DIR = ASSETS_DIR / "icons"
STYLE_SHEET = ASSETS_DIR / "theme.qss"
THEMES = ("system", "light", "dark")
ICON_PROPERTY = "heronIcon"

LIGHT = {
    "window": "#f5f6f8", "surface": "#ffffff", "sidebar": "#eceef2", "text": "#1c2029",
    "muted": "#566070", "disabled": "#9aa1ad", "border": "#d3d8e0", "button": "#ffffff",
    "hover": "#e6e9ef", "accent": "#2459d6", "accent_hover": "#1d4bb8", "accent_text": "#ffffff",
    "accent_soft": "#dce6fb", "focus": "#2459d6", "link": "#1d4bb8", "danger": "#b42318",
    "track": "#dfe3ea", "meter": "#1f9d55", "scroll": "#c3c9d3", "tooltip": "#2a2f3a",
    "tooltip_text": "#ffffff",
}  # fmt: skip
DARK = {
    "window": "#16181d", "surface": "#1f232a", "sidebar": "#1a1d23", "text": "#e6e8ed",
    "muted": "#a0a8b6", "disabled": "#646b78", "border": "#343945", "button": "#272b34",
    "hover": "#2f3440", "accent": "#3b6fe0", "accent_hover": "#4a7cf0", "accent_text": "#ffffff",
    "accent_soft": "#243453", "focus": "#7ea6ff", "link": "#8fb3ff", "danger": "#ff8a80",
    "track": "#2c313b", "meter": "#3ecf74", "scroll": "#3d4350", "tooltip": "#e6e8ed",
    "tooltip_text": "#16181d",
}  # fmt: skip
COLOURS = {"light": LIGHT, "dark": DARK}

_current = {"scheme": "light"}
_icon_cache: dict[tuple[str, str, str], QIcon] = {}


def effective_scheme(theme: str) -> str:
    """ "light" or "dark": what ``theme`` (system, light, dark) shows on this desktop now."""
    if theme in COLOURS:
        return theme
    scheme = QGuiApplication.styleHints().colorScheme()
    return "dark" if scheme == Qt.ColorScheme.Dark else "light"


def palette_for(scheme: str) -> QPalette:
    c = COLOURS[scheme]
    palette = QPalette()
    role, group = QPalette.ColorRole, QPalette.ColorGroup
    for roles, name in (
        ((role.Window,), "window"),
        ((role.WindowText, role.Text, role.ButtonText, role.BrightText), "text"),
        ((role.Base,), "surface"),
        ((role.AlternateBase,), "sidebar"),
        ((role.Button,), "button"),
        ((role.Highlight, role.Accent), "accent"),
        ((role.HighlightedText,), "accent_text"),
        ((role.Link, role.LinkVisited), "link"),
        ((role.PlaceholderText,), "muted"),
        ((role.ToolTipBase,), "tooltip"),
        ((role.ToolTipText,), "tooltip_text"),
        ((role.Mid, role.Midlight, role.Dark), "border"),
    ):
        for r in roles:
            palette.setColor(r, QColor(c[name]))
    palette.setColor(role.Light, QColor(c["surface"]))
    palette.setColor(role.Shadow, QColor("#000000"))
    for r in (role.WindowText, role.Text, role.ButtonText):
        palette.setColor(group.Disabled, r, QColor(c["disabled"]))
    return palette


def style_sheet(scheme: str) -> str:
    return Template(STYLE_SHEET.read_text(encoding="utf-8")).substitute(COLOURS[scheme])


def apply_theme(theme: str) -> str:
    """Give the whole app Heron's look in ``theme`` (system, light or dark); returns light or dark."""
    app = QApplication.instance()
    hints = {"light": Qt.ColorScheme.Light, "dark": Qt.ColorScheme.Dark}
    # First the hint (native dialogs follow it; Unknown hands it back to the desktop), then the scheme.
    QGuiApplication.styleHints().setColorScheme(hints.get(theme, Qt.ColorScheme.Unknown))
    scheme = effective_scheme(theme)
    _current["theme"] = theme
    if app is None:
        return scheme
    if not _current.get("following"):  # "System" follows the desktop when it changes its scheme
        QGuiApplication.styleHints().colorSchemeChanged.connect(_desktop_scheme_changed)
        _current["following"] = True
    if not _current.get("fusion"):
        app.setStyle("Fusion")  # the one style that draws from the palette on every desktop
        _current["fusion"] = True
    _current["scheme"] = scheme
    app.setPalette(palette_for(scheme))
    app.setStyleSheet(style_sheet(scheme))
    for widget in app.allWidgets():
        if name := widget.property(ICON_PROPERTY):
            widget.setIcon(icon(name))
    return scheme


def _desktop_scheme_changed(_scheme) -> None:
    if _current.get("theme") == "system" and effective_scheme("system") != _current["scheme"]:
        apply_theme("system")


def colour(name: str) -> QColor:
    """A colour of the theme in use, by its name in LIGHT / DARK ("muted", "accent", …)."""
    return QColor(COLOURS[_current["scheme"]][name])


def icon(name: str) -> QIcon:
    """assets/icons/NAME.svg in the theme's text colour (greyed when disabled)."""
    c = COLOURS[_current["scheme"]]
    key = (name, c["text"], c["disabled"])
    if key not in _icon_cache:
        svg = (ICONS_DIR / f"{name}.svg").read_bytes()
        made = QIcon()
        for mode, ink in ((QIcon.Mode.Normal, c["text"]), (QIcon.Mode.Disabled, c["disabled"])):
            for side in (16, 20, 24, 48):
                made.addPixmap(_render(svg, ink, side), mode)
        _icon_cache[key] = made
    return _icon_cache[key]


def set_icon(widget: QWidget, name: str, size: int = 18) -> None:
    """Put icon ``name`` on a button (or action-like widget); it follows later theme changes."""
    widget.setProperty(ICON_PROPERTY, name)
    widget.setIcon(icon(name))
    widget.setIconSize(QSize(size, size))


def _render(svg: bytes, ink: str, side: int) -> QPixmap:
    renderer = QSvgRenderer(QByteArray(svg.replace(b"currentColor", ink.encode())))
    pixmap = QPixmap(side, side)
    pixmap.fill(Qt.GlobalColor.transparent)
    painter = QPainter(pixmap)
    renderer.render(painter)
    painter.end()
    return pixmap
