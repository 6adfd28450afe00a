"""Every sub-command speaks one vocabulary: --help lists each flag and each default once, a bad value
is answered with the sub-command's usage, and the renamed spellings still work for one release."""
from __future__ import annotations

import argparse
import re
import subprocess
import sys
import warnings
from typing import Iterator, List, Tuple

import pytest

from robustgan.cli import build_parser, main, typed_options
from robustgan.cli_flags import RENAMED, subparsers_of
from robustgan.cli_help import DefaultsOnceFormatter, default_text
from robustgan.cli_renamed import RenamedFlag, result_path

PARSER = build_parser()


Command = Tuple[Tuple[str, ...], argparse.ArgumentParser]  # (the words that name it, its parser)


def _walk(parser: argparse.ArgumentParser, path: Tuple[str, ...] = ()) -> Iterator[Command]:
    """Every command and nested command below ``parser``."""
    for name, child in subparsers_of(parser).items():
        yield (*path, name), child
        yield from _walk(child, (*path, name))


ALL = list(_walk(PARSER))
LEAVES = [(path, p) for path, p in ALL if not subparsers_of(p)]
ALIASES = [(path, a) for path, p in LEAVES for a in p._actions if isinstance(a, RenamedFlag)]


def _ids(items) -> List[str]:
    return [" ".join(path) + (f" {a.option_strings[0]}" if not isinstance(a, argparse.ArgumentParser) else "")
            for path, a in items]


def _shown(parser: argparse.ArgumentParser) -> List[argparse.Action]:
    return [a for a in parser._actions
            if a.help is not argparse.SUPPRESS and not isinstance(a, argparse._SubParsersAction)]


def _block(parser: argparse.ArgumentParser, action: argparse.Action) -> str:
    """The lines --help prints for one option."""
    formatter = parser._get_formatter()
    formatter.add_argument(action)
    return formatter.format_help()


def _needed(parser: argparse.ArgumentParser) -> List[str]:
    """The least command line the parser accepts: a value for each required input."""
    argv: List[str] = []
    for a in parser._actions:
        value = str(a.choices[0]) if a.choices else "x"
        if not a.option_strings and not isinstance(a, argparse._SubParsersAction):
            argv.append(value)
        elif a.required:
            argv += [a.option_strings[-1], value]
    return argv


def test_the_walk_finds_every_command_and_nested_command():
    names = {" ".join(path) for path, _ in LEAVES}
    assert {"evaluate", "train", "gan train", "gan sample", "gan metrics", "experiment robust-features",
            "export", "craft", "style"} <= names


@pytest.mark.parametrize("path, parser", ALL, ids=_ids(ALL))
def test_every_parser_uses_the_one_help_formatter(path, parser):
    assert parser.formatter_class is DefaultsOnceFormatter


@pytest.mark.parametrize("path, parser", ALL, ids=_ids(ALL))
def test_help_exits_0_and_names_every_flag(path, parser, capsys):
    with pytest.raises(SystemExit) as done:
        main([*path, "--help"])
    out = capsys.readouterr().out
    assert done.value.code == 0 and out.startswith(f"usage: robustgan {' '.join(path)}")
    for action in _shown(parser):
        for option in action.option_strings:
            assert option in out, option
    assert "(default: None)" not in out and "(default: False)" not in out and "%(default)" not in out


@pytest.mark.parametrize("path, parser", LEAVES, ids=_ids(LEAVES))
def test_help_shows_each_default_once(path, parser):
    word = re.compile(r"(?<![-'\w])default(?![-'\w])", re.IGNORECASE)
    for action in _shown(parser):
        if not action.option_strings:
            continue
        block = _block(parser, action)
        said = len(word.findall(block))
        assert said <= 1, block
        if default_text(action.default) is not None:
            assert said == 1, block


@pytest.mark.parametrize("path, parser", LEAVES, ids=_ids(LEAVES))
def test_a_bad_value_exits_2_with_the_sub_commands_usage(path, parser, capsys):
    numeric = next((a for a in parser._actions if a.option_strings and a.type in (int, float)), None)
    argv = [*path, *_needed(parser), numeric.option_strings[-1], "many"] if numeric else [*path]
    with pytest.raises(SystemExit) as done:
        main(argv)
    err = capsys.readouterr().err
    prog = f"robustgan {' '.join(path)}"
    assert done.value.code == 2 and f"usage: {prog}" in err, err
    if numeric:
        assert f"{prog}: error: argument {'/'.join(numeric.option_strings)}: invalid" in err and "'many'" in err
    else:  # no number to get wrong: the required inputs are missing
        assert f"{prog}: error: the following arguments are required" in err


WITH_REQUIRED = [(path, p) for path, p in LEAVES if _needed(p)]


@pytest.mark.parametrize("path, parser", WITH_REQUIRED, ids=_ids(WITH_REQUIRED))
def test_a_missing_required_input_exits_2_naming_it(path, parser, capsys):
    with pytest.raises(SystemExit) as done:
        main([*path])
    err = capsys.readouterr().err
    prog = f"robustgan {' '.join(path)}"
    assert done.value.code == 2 and f"usage: {prog}" in err and "the following arguments are required" in err


def test_every_old_spelling_is_listed_and_hidden_from_help():
    assert ALIASES
    for path, alias in ALIASES:
        old = alias.option_strings[0]
        assert old in RENAMED, old
        parser = dict(LEAVES)[path]
        assert not re.search(re.escape(old) + r"(?![-\w])", parser.format_help()), (path, old)


def _value(action: argparse.Action) -> str:
    """A value the option takes: its first choice, a count, or a path."""
    if action.choices:
        return str(action.choices[0])
    if action.type in (int, float) or getattr(action.type, "__name__", "") == "positive_int":
        return "7"
    return "some/where.pt"


@pytest.mark.parametrize("path, alias", ALIASES, ids=_ids(ALIASES))
def test_each_old_spelling_still_works_and_warns_naming_the_new_flag(path, alias, capsys):
    parser = dict(LEAVES)[path]
    old, new = alias.option_strings[0], max(alias.target.option_strings, key=len)
    value = _value(alias.target)
    argv = [*path, *_needed(parser)]
    expected, _ = PARSER.parse_known_args([*argv, new, value])
    with pytest.warns(DeprecationWarning, match=re.escape(new)):
        given, unknown = PARSER.parse_known_args([*argv, old, value])
    assert not unknown and getattr(given, alias.dest) == getattr(expected, alias.dest)
    assert vars(given) == vars(expected)
    err = capsys.readouterr().err.strip()
    assert err == f"robustgan: deprecated: {old} is now {new} (the old spelling goes in the next release)"


def test_the_options_typed_are_named_by_their_new_spelling():
    argv = ["gan", "train", "--num-train", "64", "--steps=3", "-n", "2", "--resume"]
    assert typed_options(PARSER, argv) == {"--num-examples", "--steps", "--resume"}


def test_a_result_file_goes_into_the_out_folder(tmp_path):
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert result_path(tmp_path / "run", "model.pt", (".pt",)) == tmp_path / "run" / "model.pt"
        assert result_path(tmp_path / "v1.2", "model.pt", (".pt",)) == tmp_path / "v1.2" / "model.pt"


def test_an_out_that_names_a_file_keeps_working_for_one_release(tmp_path, capsys):
    with pytest.warns(DeprecationWarning, match="--out is a folder now"):
        assert result_path(tmp_path / "cnn.PT", "model.pt", (".pt",)) == tmp_path / "cnn.PT"
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "robustgan: deprecated: --out" in err and str(tmp_path / "cnn" / "model.pt") in err


TRAIN = ["train", "--epochs", "1", "--train-subset", "64", "--test-subset", "64", "--quiet", "--device", "cpu"]


def test_train_writes_out_model_pt_and_an_old_file_out_still_works(tmp_path, capsys):
    import json

    assert main([*TRAIN, "--out", str(tmp_path / "run")]) == 0
    printed = json.loads(capsys.readouterr().out)
    assert printed["checkpoint"] == str(tmp_path / "run" / "model.pt") and (tmp_path / "run" / "model.pt").is_file()
    assert (tmp_path / "run" / "model.train.pt").is_file()
    with pytest.warns(DeprecationWarning):
        assert main([*TRAIN, "--out", str(tmp_path / "old.pt")]) == 0
    assert (tmp_path / "old.pt").is_file() and "deprecated: --out" in capsys.readouterr().err


def test_train_refuses_an_out_that_is_a_file(tmp_path, capsys):
    blocker = tmp_path / "run"
    blocker.write_text("x")
    assert main([*TRAIN, "--out", str(blocker)]) == 2
    assert f"--out {blocker} is a file, not a folder" in capsys.readouterr().err
    assert blocker.read_text() == "x"


def test_an_old_spelling_end_to_end_warns_once_and_reaches_the_job(tmp_path):
    missing = tmp_path / "none.pt"
    proc = subprocess.run([sys.executable, "-m", "robustgan.cli", "evaluate", "--checkpoint", str(missing),
                           "--out", str(tmp_path / "rep"), "--quiet"], capture_output=True, text=True, timeout=300)
    lines = proc.stderr.strip().splitlines()
    assert proc.returncode == 2, proc.stderr
    assert lines[0] == "robustgan: deprecated: --checkpoint is now --model (the old spelling goes in the next release)"
    assert "checkpoint not found" in proc.stderr and str(missing) in proc.stderr and len(lines) == 2
