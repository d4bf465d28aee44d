"""Implementations of ``engine.interface.Engine`` and how the app shares one.

- ``local``: the model in a child process on this computer;
- ``shared``: one engine, several users (typed questions, the voice conversation);
- ``bridge``: an engine's events as Qt signals, for the window.
"""
