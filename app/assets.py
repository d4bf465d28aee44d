"""The product's own files shipped beside the code: the icon and the sample recording."""

from __future__ import annotations

from pathlib import Path

ASSETS_DIR = Path(__file__).resolve().parent.parent / "assets"
ICON = ASSETS_DIR / "heron.svg"
SAMPLE_RECORDING = ASSETS_DIR / "sample-meeting.ogg"  # made by packaging/make_sample.py
SAMPLE_QUESTION = "What was approved, and for how much? When does the doorbell ring?"
