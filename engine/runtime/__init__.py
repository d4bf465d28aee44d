"""The engine process and how it answers: read ``pipeline`` first.

- ``process``: the child process's loop, speaking ``protocol``'s messages;
- ``pipeline``: one question answered, step by step;
- ``host``: the model, its adapters and caches, kept between requests;
- ``audio_cache``: decoded recordings kept for follow-ups;
- ``logs``, ``failures``: what every child process (the engine, the trainer) does alike;
- ``doctor``: checks of this machine for ``heron doctor``.
"""
