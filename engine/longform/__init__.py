"""Recordings longer than the model hears at once: windows cut in silences, then a combining pass."""

from engine.longform.planner import Window, plan_windows

__all__ = ["Window", "plan_windows"]
