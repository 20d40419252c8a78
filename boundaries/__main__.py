"""``python -m boundaries`` works like ``boundaries`` (whose entry point is :func:`run`)."""

import os
import sys

#: The exit code of an interrupted command (a shell's 128 + SIGINT).
EXIT_INTERRUPTED = 130


def run() -> None:
    """The ``boundaries`` command; a Ctrl-C while it is still loading is one line and exit 130 too.

    Loading the command takes most of a second (pandas): an interrupt then must not
    print a traceback, and nothing has been written yet.
    """
    try:
        from .cli import main
    except KeyboardInterrupt:
        sys.stderr.write("boundaries: error: interrupted; nothing was written\n")
        sys.exit(EXIT_INTERRUPTED)
    try:
        main(prog_name="boundaries")
    except SystemExit as exc:
        if exc.code == EXIT_INTERRUPTED:
            _leave_interrupted()
        raise


def _leave_interrupted() -> None:
    """Exit 130 at once: an interrupted command has already undone its work and said so.

    The interpreter's own exit joins the threads of the process pools it ended, and a
    pool's thread can wait for ever on a pipe to a worker that is gone (a CI run hung
    there for 30 s after our line); nothing is left for that exit to do.
    """
    for stream in (sys.stdout, sys.stderr):
        try:
            stream.flush()
        except (OSError, ValueError):
            pass
    os._exit(EXIT_INTERRUPTED)


if __name__ == "__main__":
    run()
