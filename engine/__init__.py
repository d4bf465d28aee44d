"""Heron's engine: hears, thinks, speaks. Nothing here imports Qt, the app or the UI.

The vocabulary sits at the top (``events``, ``requests``, ``errors``, ``interface``, ``streams``,
``timefmt``); each package below does one thing: ``audio``, ``model``, ``inference``,
``runtime`` (the engine process), ``reasoning``, ``longform``, ``history`` (with the conversation
session), ``voice``, ``speech``, ``trainer``.
"""

__version__ = "0.1.0"
