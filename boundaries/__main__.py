"""``python -m boundaries`` works like ``boundaries`` (whose entry point is :func:`run`)."""

import sys


def run() -> None:
    """The ``boundaries`` command; a Ctrl-C while it is still loading is one line and exit 130 too.

    Loading the command takes most of a second (pandas): an interrupt then must not
    print a traceback, and nothing has been written yet.
    """
    try:
        from .cli import main
    except KeyboardInterrupt:
        sys.stderr.write("boundaries: error: interrupted; nothing was written\n")
        sys.exit(130)
    main(prog_name="boundaries")


if __name__ == "__main__":
    run()
