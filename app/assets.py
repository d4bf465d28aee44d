"""The product's own files shipped beside the code: the icon, the launcher, the sample recordings.

They live in the top-level ``assets`` folder, which the wheel installs as package data beside
``app`` and the bundle carries as ``assets``, so the same path works in all three.
"""

from __future__ import annotations

from pathlib import Path

ASSETS_DIR = Path(__file__).resolve().parent.parent / "assets"
ICON = ASSETS_DIR / "heron.svg"
DESKTOP_TEMPLATE = ASSETS_DIR / "heron.desktop"  # @EXEC@ and @ICON@ filled in by app.desktop_entry
SAMPLE_RECORDING = ASSETS_DIR / "sample-meeting.ogg"  # made by packaging/make_sample.py
SAMPLE_QUESTION = "What was approved, and for how much? When does the doorbell ring?"
SPOKEN_QUESTION = ASSETS_DIR / "spoken-question.ogg"  # the same maker: a question, said aloud
