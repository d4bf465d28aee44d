"""Recordings longer than the model hears at once: windows cut in silences, then a combining pass."""

from engine.longform.planner import MAX_WINDOW_S, Window, plan_windows

__all__ = ["MAX_WINDOW_S", "Window", "plan_windows"]
