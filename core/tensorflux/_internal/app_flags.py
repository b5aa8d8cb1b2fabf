"""``tf.app.flags`` and ``tf.app.run``: TF 1.x's command-line flags, on argparse (no absl).

Flags are defined at import time with ``DEFINE_*``; ``FLAGS`` parses ``sys.argv`` on the first read of a flag,
or ``tf.app.run(main, argv)`` parses ``argv`` (keeping what it does not know) and exits with ``main``'s result.
As with absl: ``--name=value`` or ``--name value``, booleans as ``--name``/``--noname``/``--name=false``,
lists comma-separated, and ``--`` ends the flags.
"""

from __future__ import annotations

import argparse
import os
import sys
from dataclasses import dataclass, field
from typing import Any, Callable, NoReturn


class Error(ValueError):
    """A flag definition or value is wrong (absl's ``flags.Error``)."""


class DuplicateFlagError(Error):
    """A flag with this name is already defined."""


class UnrecognizedFlagError(Error):
    """The command line names a flag that is not defined."""


class IllegalFlagValueError(Error):
    """A flag's value does not parse or is out of bounds."""


_UNSET = object()
_TRUE_WORDS = ("true", "t", "1", "yes", "y")
_FALSE_WORDS = ("false", "f", "0", "no", "n")


def _parse_bool(text: Any) -> bool:
    if isinstance(text, bool):
        return text
    word = str(text).strip().lower()
    if word in _TRUE_WORDS:
        return True
    if word in _FALSE_WORDS:
        return False
    raise ValueError(f"expected a boolean ({'/'.join(_TRUE_WORDS + _FALSE_WORDS)}), got {text!r}")


def _parse_list(text: Any) -> list:
    if isinstance(text, (list, tuple)):
        return list(text)
    return [item.strip() for item in str(text).split(",") if item.strip()]


@dataclass
class Flag:
    """One defined flag: its name, kind, parser, default, help and current value."""

    name: str
    default: Any
    help: str
    kind: str
    parse: Callable[[Any], Any]
    value: Any = None
    present: bool = False
    check: Callable[[Any], None] | None = field(default=None, repr=False)

    def set_from(self, raw: Any) -> None:
        try:
            value = None if raw is None else self.parse(raw)
            if self.check is not None and value is not None:
                self.check(value)
        except ValueError as err:
            raise IllegalFlagValueError(f"flag --{self.name}={raw}: {err}") from None
        self.value = value


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> NoReturn:
        raise Error(message)


class FlagValues:
    """The registry of flags; ``FLAGS.name`` reads a value (parsing ``sys.argv`` on the first read).

    Example:
        >>> from tensorflux._internal.app_flags import FlagValues, DEFINE_integer
        >>> flags = FlagValues()
        >>> DEFINE_integer("batch_size", 32, "examples per step", flag_values=flags)
        >>> flags(["prog", "--batch_size=64", "input.txt"])
        ['prog', 'input.txt']
        >>> flags.batch_size
        64
    """

    def __init__(self) -> None:
        object.__setattr__(self, "_flags", {})
        object.__setattr__(self, "_parsed", False)
        object.__setattr__(self, "_required", [])

    # -- defining -------------------------------------------------------------------------------------------------
    def _define(self, flag: Flag) -> None:
        if flag.name in self._flags:
            raise DuplicateFlagError(f"The flag '{flag.name}' is defined twice")
        if flag.default is not None:
            flag.set_from(flag.default)
            flag.default = flag.value
        self._flags[flag.name] = flag

    def mark_as_required(self, name: str) -> None:
        if name not in self._flags:
            raise Error(f"mark_flag_as_required: no flag named '{name}' is defined")
        self._required.append(name)

    # -- parsing --------------------------------------------------------------------------------------------------
    def __call__(self, argv: list, known_only: bool = False) -> list:
        """Parse ``argv`` (``argv[0]`` is the program); returns ``[argv[0]] + the arguments left over``."""
        argv = list(argv)
        if not argv:
            raise Error("argv must at least hold the program name")
        args = argv[1:]
        after_dashes: list = []
        if "--" in args:
            cut = args.index("--")
            args, after_dashes = args[:cut], args[cut + 1:]
        parser = _Parser(prog=str(argv[0]), add_help=False, allow_abbrev=False)
        for flag in self._flags.values():
            if flag.kind == "bool":
                parser.add_argument(f"--{flag.name}", dest=flag.name, nargs="?", const="true", default=_UNSET)
                parser.add_argument(f"--no{flag.name}", dest=flag.name, action="store_const", const="false")
            else:
                parser.add_argument(f"--{flag.name}", dest=flag.name, default=_UNSET)
        parsed, extras = parser.parse_known_args(args)
        unknown = [a for a in extras if a.startswith("-") and a != "-" and not _is_number(a)]
        if unknown and not known_only:
            raise UnrecognizedFlagError(f"Unknown command line flag '{unknown[0].lstrip('-').split('=')[0]}'")
        for name, raw in vars(parsed).items():
            if raw is not _UNSET:
                self._flags[name].set_from(raw)
                self._flags[name].present = True
        missing = [n for n in self._required if self._flags[n].value is None]
        if missing:
            raise IllegalFlagValueError(f"flag --{missing[0]} must be specified")
        object.__setattr__(self, "_parsed", True)
        return [argv[0]] + extras + after_dashes

    def is_parsed(self) -> bool:
        return self._parsed

    def mark_as_parsed(self) -> None:
        object.__setattr__(self, "_parsed", True)

    def unparse_flags(self) -> None:
        """Forget parsed values: back to the defaults, and parse again on the next read."""
        for flag in self._flags.values():
            flag.value, flag.present = flag.default, False
        object.__setattr__(self, "_parsed", False)

    # -- reading and writing --------------------------------------------------------------------------------------
    def __getattr__(self, name: str) -> Any:
        flags = self.__dict__["_flags"]
        if name not in flags:
            raise AttributeError(f"FLAGS has no flag '{name}'; define it with tf.app.flags.DEFINE_*")
        if not self.__dict__["_parsed"]:
            self(sys.argv)
        return flags[name].value

    def __setattr__(self, name: str, value: Any) -> None:
        if name not in self._flags:
            raise AttributeError(f"FLAGS has no flag '{name}' to set; define it with tf.app.flags.DEFINE_*")
        self._flags[name].set_from(value)

    def __contains__(self, name: str) -> bool:
        return name in self._flags

    def __iter__(self) -> Any:
        return iter(self._flags)

    def __getitem__(self, name: str) -> Flag:
        return self._flags[name]

    def flag_values_dict(self) -> dict:
        """``{name: value}`` for every flag. Example: ``tf.app.flags.FLAGS.flag_values_dict()``."""
        return {name: flag.value for name, flag in self._flags.items()}

    def get_flag_value(self, name: str, default: Any) -> Any:
        return self._flags[name].value if name in self._flags else default

    def help_text(self) -> str:
        """One line per flag: ``--name: help (default: value)``."""
        return "\n".join(f"  --{f.name}: {f.help}\n    (default: {f.default!r})" for f in self._flags.values())


def _is_number(text: str) -> bool:
    try:
        float(text)
    except ValueError:
        return False
    return True


FLAGS = FlagValues()


def _bounds(lower: Any, upper: Any) -> Callable[[Any], None] | None:
    if lower is None and upper is None:
        return None

    def check(value: Any) -> None:
        if (lower is not None and value < lower) or (upper is not None and value > upper):
            raise ValueError(f"{value} is outside [{lower}, {upper}]")

    return check


def DEFINE_string(name: str, default: Any, help: str, flag_values: FlagValues = FLAGS,  # noqa: N802, A002
                  **_: Any) -> None:
    """Define a string flag. Example: ``tf.app.flags.DEFINE_string("data_dir", "/tmp/data", "where data is")``."""
    flag_values._define(Flag(name, default, help, "string", str))


def DEFINE_integer(name: str, default: Any, help: str, lower_bound: int | None = None,  # noqa: N802, A002
                   upper_bound: int | None = None, flag_values: FlagValues = FLAGS, **_: Any) -> None:
    """Define an integer flag. Example: ``tf.app.flags.DEFINE_integer("max_steps", 1000, "steps to run")``."""
    flag_values._define(Flag(name, default, help, "integer", int, check=_bounds(lower_bound, upper_bound)))


def DEFINE_float(name: str, default: Any, help: str, lower_bound: float | None = None,  # noqa: N802, A002
                 upper_bound: float | None = None, flag_values: FlagValues = FLAGS, **_: Any) -> None:
    """Define a float flag. Example: ``tf.app.flags.DEFINE_float("learning_rate", 0.01, "initial rate")``."""
    flag_values._define(Flag(name, default, help, "float", float, check=_bounds(lower_bound, upper_bound)))


def DEFINE_boolean(name: str, default: Any, help: str, flag_values: FlagValues = FLAGS,  # noqa: N802, A002
                   **_: Any) -> None:
    """Define a boolean flag (``--name``, ``--noname``). Example: ``DEFINE_boolean("fake_data", False, "...")``."""
    flag_values._define(Flag(name, default, help, "bool", _parse_bool))


DEFINE_bool = DEFINE_boolean


def DEFINE_list(name: str, default: Any, help: str, flag_values: FlagValues = FLAGS,  # noqa: N802, A002
                **_: Any) -> None:
    """Define a comma-separated list flag. Example: ``DEFINE_list("layers", "128,64", "hidden sizes")``."""
    flag_values._define(Flag(name, default, help, "list", _parse_list))


def DEFINE_enum(name: str, default: Any, enum_values: list, help: str,  # noqa: N802, A002
                flag_values: FlagValues = FLAGS, **_: Any) -> None:
    """Define a flag whose value is one of ``enum_values``. Example: ``DEFINE_enum("opt", "sgd", ["sgd", "adam"], "")``.
    """
    if not enum_values:
        raise ValueError(f"DEFINE_enum '{name}': enum_values must not be empty")
    allowed = [str(v) for v in enum_values]

    def parse(text: Any) -> str:
        if str(text) not in allowed:
            raise ValueError(f"value should be one of <{'|'.join(allowed)}>")
        return str(text)

    flag_values._define(Flag(name, default, help, "enum", parse))


def mark_flag_as_required(name: str, flag_values: FlagValues = FLAGS) -> None:
    """Make parsing fail unless flag ``name`` has a value. Example: ``mark_flag_as_required("data_dir")``."""
    flag_values.mark_as_required(name)


def _usage(program: str) -> str:
    """The ``--help`` text: a usage line as argparse starts one, the ``__main__`` docstring as absl shows, the flags."""
    doc = (getattr(sys.modules.get("__main__"), "__doc__", None) or "").strip()
    return "\n\n".join(part for part in (f"usage: {os.path.basename(program)} [flags]", doc,
                                           f"flags:\n{FLAGS.help_text()}") if part)


def run(main: Callable | None = None, argv: list | None = None) -> NoReturn:
    """Parse flags from ``argv`` (default ``sys.argv``; unknown flags are left in), then ``sys.exit(main(argv))``.

    ``main`` defaults to the ``main`` function of the ``__main__`` module; ``--help`` prints a usage line, the
    ``__main__`` docstring (as absl does) and the flags, and exits with 0 (absl: 1).

    Example:
        >>> import tensorflux as tf
        >>> try:
        ...     tf.app.run(lambda argv: len(argv), argv=["prog", "a", "b"])
        ... except SystemExit as done:
        ...     done.code
        3
    """
    main = main or sys.modules["__main__"].main
    args = list(sys.argv if argv is None else argv)
    if any(a in ("--help", "-h", "--helpshort", "--helpfull") for a in args[1:]):
        print(_usage(args[0] if args else "program"))
        sys.exit(0)
    try:
        remaining = FLAGS(args, known_only=True)
    except Error as err:
        sys.stderr.write(f"FATAL Flags parsing error: {err}\nPass --help to see the flags.\n")
        sys.exit(1)
    sys.exit(main(remaining))
