"""Heron's engine: hears, thinks, speaks. No Qt here (see DESIGN.md)."""

__version__ = "0.1.0"
