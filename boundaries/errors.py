"""The package's exceptions and the exit codes the CLI maps them to."""

#: Exit codes of the ``boundaries`` command.
EXIT_OK = 0
EXIT_PROBLEMS = 1  # a check found problems in a station layer
EXIT_INPUT = 2  # bad input or usage: nothing was written
EXIT_INTERNAL = 3  # the tool built a broken partition: a bug, nothing was written


class BoundariesError(Exception):
    """Base class of every error the package raises on purpose."""

    exit_code = EXIT_INTERNAL


class InputError(BoundariesError, ValueError):
    """Bad input: a missing file or column, an unusable value, an impossible option.

    The message is one line saying what is wrong, where, and how to fix it.
    """

    exit_code = EXIT_INPUT


class PartitionError(BoundariesError, RuntimeError):
    """The stations built for a commune do not partition its outline (a bug)."""

    exit_code = EXIT_INTERNAL
