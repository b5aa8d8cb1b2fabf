"""tf.app.flags / tf.app.run: definitions, parsing (absl's syntax) and errors, on private FlagValues."""

import sys

import pytest

import tensorflux as tf
from tensorflux._internal.app_flags import (
    DEFINE_boolean,
    DEFINE_enum,
    DEFINE_float,
    DEFINE_integer,
    DEFINE_list,
    DEFINE_string,
    FlagValues,
    mark_flag_as_required,
)


@pytest.fixture
def flags():
    values = FlagValues()
    DEFINE_string("name", "model", "a string", flag_values=values)
    DEFINE_integer("steps", 10, "an int", lower_bound=1, flag_values=values)
    DEFINE_float("lr", 0.1, "a float", flag_values=values)
    DEFINE_boolean("fake", False, "a bool", flag_values=values)
    DEFINE_list("layers", "128,64", "a list", flag_values=values)
    DEFINE_enum("opt", "sgd", ["sgd", "adam"], "an enum", flag_values=values)
    return values


def test_defaults_parse_like_values(flags):
    flags(["prog"])
    assert flags.flag_values_dict() == {"name": "model", "steps": 10, "lr": 0.1, "fake": False,
                                        "layers": ["128", "64"], "opt": "sgd"}


def test_command_line_syntax(flags):
    rest = flags(["prog", "--name=cnn", "--steps", "5", "--lr=-0.5", "--fake", "--layers=1,2,3", "--opt", "adam",
                  "data.txt", "--", "--not-a-flag"])
    assert rest == ["prog", "data.txt", "--not-a-flag"]
    assert (flags.name, flags.steps, flags.lr, flags.fake, flags.layers, flags.opt) == (
        "cnn", 5, -0.5, True, ["1", "2", "3"], "adam")


@pytest.mark.parametrize("argv, value", [(["--nofake"], False), (["--fake=false"], False), (["--fake=1"], True)])
def test_boolean_spellings(flags, argv, value):
    flags(["prog"] + argv)
    assert flags.fake is value


@pytest.mark.parametrize("argv, match", [
    (["--steps=x"], "flag --steps=x"), (["--steps=0"], "outside"), (["--opt=rmsprop"], "one of <sgd|adam>"),
    (["--fake=maybe"], "expected a boolean"), (["--unknown=3"], "Unknown command line flag 'unknown'"),
])
def test_bad_values_are_errors(flags, argv, match):
    with pytest.raises(tf.flags.Error, match=match):
        flags(["prog"] + argv)


def test_known_only_keeps_unknown_flags(flags):
    assert flags(["prog", "--other=1", "--steps=3"], known_only=True) == ["prog", "--other=1"]
    assert flags.steps == 3


def test_first_read_parses_sys_argv(flags, monkeypatch):
    monkeypatch.setattr(sys, "argv", ["prog", "--steps=42"])
    assert not flags.is_parsed()
    assert flags.steps == 42
    flags.steps = 7
    assert flags.steps == 7
    flags.unparse_flags()
    monkeypatch.setattr(sys, "argv", ["prog"])
    assert flags.steps == 10


def test_definitions_are_checked(flags):
    with pytest.raises(tf.flags.DuplicateFlagError):
        DEFINE_string("name", "x", "again", flag_values=flags)
    with pytest.raises(AttributeError, match="no flag 'missing'"):
        flags.missing  # noqa: B018
    with pytest.raises(AttributeError, match="no flag 'missing'"):
        flags.missing = 1
    mark_flag_as_required("name", flag_values=flags)
    flags.name = None
    with pytest.raises(tf.flags.IllegalFlagValueError, match="must be specified"):
        flags(["prog"])


def test_app_run_parses_global_flags_and_exits_with_main(monkeypatch):
    tf.app.flags.DEFINE_integer("app_run_test_units", 3, "units")
    seen = {}

    def main(argv):
        seen["argv"] = argv
        seen["units"] = tf.app.flags.FLAGS.app_run_test_units
        return 0

    with pytest.raises(SystemExit) as done:
        tf.app.run(main, argv=["prog", "--app_run_test_units=8", "--other", "pos"])
    assert done.value.code == 0
    assert seen == {"argv": ["prog", "--other", "pos"], "units": 8}
    assert tf.flags is tf.app.flags


def test_app_run_reports_bad_flags(capsys):
    tf.app.flags.DEFINE_integer("app_run_test_bad", 3, "units")
    with pytest.raises(SystemExit) as done:
        tf.app.run(lambda argv: 0, argv=["prog", "--app_run_test_bad=three"])
    assert done.value.code == 1
    assert "FATAL Flags parsing error" in capsys.readouterr().err


def test_app_run_help_prints_usage_the_main_docstring_and_the_flags(capsys, monkeypatch):
    # absl prints the __main__ module's docstring before the flags; the usage line is argparse's, as the examples'.
    tf.app.flags.DEFINE_integer("app_run_test_help", 3, "units in the help test")
    monkeypatch.setattr(sys.modules["__main__"], "__doc__", "Trains a thing.")
    with pytest.raises(SystemExit) as done:
        tf.app.run(lambda argv: 1, argv=["some/dir/prog.py", "--help"])
    assert done.value.code == 0
    out = capsys.readouterr().out
    assert out.startswith("usage: prog.py [flags]\n\nTrains a thing.\n\nflags:\n")
    assert "  --app_run_test_help: units in the help test\n    (default: 3)" in out
