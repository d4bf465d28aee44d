"""The product's own files shipped beside the code: the icon."""

from __future__ import annotations

from pathlib import Path

ASSETS_DIR = Path(__file__).resolve().parent.parent / "assets"
ICON = ASSETS_DIR / "heron.svg"
