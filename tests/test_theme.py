"""Heron's own light and dark look: the Dark theme darkens the real window on a desktop that gives
Qt no colour scheme (offscreen here, plain X11 for users), "System" stays the default, the colours
read well, and themed icons follow a theme change."""

from __future__ import annotations

import pytest
from PySide6.QtGui import QGuiApplication, QPalette
from PySide6.QtWidgets import QApplication

from ui import theme


def luminance(colour) -> float:
    def channel(v: float) -> float:
        return v / 12.92 if v <= 0.03928 else ((v + 0.055) / 1.055) ** 2.4

    return (
        0.2126 * channel(colour.redF()) + 0.7152 * channel(colour.greenF()) + 0.0722 * channel(colour.blueF())
    )


def contrast(a: str, b: str) -> float:
    from PySide6.QtGui import QColor

    la, lb = sorted((luminance(QColor(a)), luminance(QColor(b))), reverse=True)
    return (la + 0.05) / (lb + 0.05)


def window_colour():
    return QApplication.palette().color(QPalette.ColorRole.Window)


def test_dark_and_light_change_the_real_window_and_system_is_the_default(app):
    window, controller = app
    assert controller.settings.theme == "system"
    controller.apply_settings({"theme": "dark"})
    assert window_colour().lightness() < 60, "Dark darkens the window without a desktop theme"
    assert window.palette().color(QPalette.ColorRole.Base).lightness() < 60
    assert window.waveform.palette().color(QPalette.ColorRole.Window).lightness() < 60
    controller.apply_settings({"theme": "system"})  # straight from Dark: the desktop's own scheme again
    system_is_dark = QGuiApplication.styleHints().colorScheme().name == "Dark"
    assert (window_colour().lightness() < 60) == system_is_dark
    controller.apply_settings({"theme": "light"})
    assert window_colour().lightness() > 200


@pytest.mark.parametrize("scheme", ["light", "dark"])
def test_text_colours_read_well_on_their_backgrounds(scheme):
    c = theme.COLOURS[scheme]
    for ink, paper in (("text", "window"), ("text", "surface"), ("text", "sidebar"), ("muted", "window"),
                       ("muted", "sidebar"), ("link", "surface"), ("accent_text", "accent"),
                       ("text", "accent_soft"), ("tooltip_text", "tooltip")):  # fmt: skip
        assert contrast(c[ink], c[paper]) >= 4.5, (scheme, ink, paper)


def test_a_themed_icon_is_repainted_when_the_theme_changes(qtbot):
    from PySide6.QtWidgets import QPushButton

    button = QPushButton("Send")
    qtbot.addWidget(button)
    theme.apply_theme("light")
    theme.set_icon(button, "send")
    light = button.icon().pixmap(24).toImage()
    theme.apply_theme("dark")
    dark = button.icon().pixmap(24).toImage()
    assert not button.icon().isNull() and light != dark
    theme.apply_theme("system")


def test_settings_previews_a_theme_and_cancel_puts_the_one_in_use_back(app):
    window, controller = app
    dialog = controller.open_settings()
    combo = dialog.theme_choice()
    combo.setCurrentIndex(combo.findData("dark"))
    assert window_colour().lightness() < 60, "the chosen theme shows at once"
    dialog.reject()
    assert window_colour().lightness() > 200 and controller.settings.theme == "system"
