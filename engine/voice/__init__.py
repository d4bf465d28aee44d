"""Voice conversation: devices, capture, echo cancellation, turn detection, playback, the loop.

Nothing here imports Qt: the CLI (``heron chat``) and the desktop app drive the same
``VoiceLoop`` and read the same events.
"""
