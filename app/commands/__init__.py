"""The ``heron`` subcommands, one module each, and the exit statuses they share."""

EXIT_USER_ERROR = 2  # a failure the user can act on, said in one line
EXIT_INTERRUPTED = 130  # stopped by Ctrl+C (or SIGTERM, SIGHUP)
