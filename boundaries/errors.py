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

    def __str__(self) -> str:
        return render_options(super().__str__())

    def render(self, name) -> str:
        """The message with its options written as ``name(keyword)`` (the CLI gives flags)."""
        return render_options(super().__str__(), name)


class PartitionError(BoundariesError, RuntimeError):
    """The stations built for a commune do not partition its outline (a bug)."""

    exit_code = EXIT_INTERNAL


#: Marks an option's keyword (and a value) inside a message: shown as the keyword from
#: Python and as the command's flag by the CLI (:meth:`InputError.render`).
_MARK, _VALUE, _END = "\x1e", "\x1d", "\x1f"


def option(keyword: str, value: str | None = None) -> str:
    """Name the option ``keyword`` (``x_column``), with a ``value`` if given, in an error message.

    Python callers read ``x_column`` (``x_column='lat'`` with a value); the command
    line shows its flag (``--x-column``, ``--x-column lat``): library messages never
    name a flag themselves.
    """
    return f"{_MARK}{keyword}{'' if value is None else _VALUE + str(value)}{_END}"


def _as_keyword(keyword: str, value: str | None) -> str:
    return keyword if value is None else f"{keyword}={value!r}"


def render_options(message: str, name=_as_keyword) -> str:
    """``message`` with each option marked by :func:`option` written as ``name(keyword, value)``."""
    import re

    return re.sub(f"{_MARK}(\\w+)(?:{_VALUE}([^{_END}]*))?{_END}", lambda m: name(m.group(1), m.group(2)), message)


def plural(n, noun: str, nouns: str | None = None) -> str:
    """``n`` and the noun in its number: ``1 commune``, ``0 communes``, ``1,082 stations``.

    ``nouns``: the plural when it is not ``noun + "s"`` (``address row``, ``address rows``
    needs none; ``class`` gives ``classes``; ``1 results row``). Numbers get thousands
    separators, as the messages write them.
    """
    word = noun if n == 1 else (nouns if nouns is not None else noun + "es" if noun.endswith(("s", "x", "ch", "sh"))
                                else noun + "s")
    return f"{n:,} {word}"
