"""``heron serve``: Heron's engine behind HTTP, in the OpenAI-compatible chat-completions protocol.

- ``config``: what the server is started with (address, token, model, limits);
- ``asks``: one model, many clients: the queue, a request's events from the engine, cancel;
- ``routes``: the endpoints (``/v1/chat/completions``, ``/v1/models``, ``/health``), the token check.
"""
