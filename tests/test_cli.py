"""The command line as a whole: --version, a --help that needs no torch, errors in the sub-command's words."""
from __future__ import annotations

import subprocess
import sys

import pytest

from robustgan import __version__
from robustgan.cli import COMMANDS, build_parser, main


def test_version(capsys):
    with pytest.raises(SystemExit) as done:
        main(["--version"])
    assert done.value.code == 0 and capsys.readouterr().out.strip() == f"robustgan {__version__}"


def test_top_level_help_lists_every_command_without_importing_torch():
    probe = ("import sys\nfrom robustgan.cli import main\ntry:\n    main(['--help'])\nexcept SystemExit:\n    pass\n"
             "print('TORCH' if 'torch' in sys.modules else 'LIGHT')")
    out = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, timeout=60).stdout
    assert out.strip().endswith("LIGHT")
    for name in COMMANDS:
        assert name in out


def test_every_command_is_registered_by_the_module_listed_for_it():
    import argparse

    parser = build_parser()
    subs = next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction))
    assert list(subs.choices) == list(COMMANDS)
    for name in COMMANDS:
        lazy = build_parser(name, lazy=True)
        chosen = next(a for a in lazy._actions if isinstance(a, argparse._SubParsersAction)).choices[name]
        assert chosen.format_help().count("--") > 0  # the real parser, not a placeholder


@pytest.mark.parametrize("argv, usage", [(["evaluate", "--bogus"], "robustgan evaluate"),
                                         (["gan", "train", "--bogus"], "robustgan gan train"),
                                         (["craft", "adversarial", "--out", "x", "--nope"], "robustgan craft")])
def test_unknown_flags_are_answered_with_the_sub_commands_usage(argv, usage, capsys):
    with pytest.raises(SystemExit) as done:
        main(argv)
    err = capsys.readouterr().err
    assert done.value.code == 2 and f"usage: {usage}" in err and f"{usage}: error: unrecognized" in err
