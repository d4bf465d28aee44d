"""The bundle's entry point: ``heron`` as PyInstaller freezes it.

``freeze_support`` first: the model engine and the trainer run in spawned child processes, and
in a frozen app a child is this same executable, which must become the child instead of Heron.
"""

import multiprocessing

if __name__ == "__main__":
    multiprocessing.freeze_support()
    from app.cli import entry_point

    entry_point()
