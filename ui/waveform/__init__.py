"""The interactive waveform: a long recording, its reasoning steps, a ruler and a playhead.

Modules: ``view`` (zoom and pan math), ``ruler`` (ticks and labels), ``markers`` (steps on the
time axis and hit tests), ``colors`` (from the palette), ``painter`` (drawing), ``widget``.
"""

from ui.waveform.widget import WaveformView

__all__ = ["WaveformView"]
