"""``evaluate`` survives and scales out: partial results, refusal to overwrite, SIGKILL and resume,
two gloo processes under torchrun with the numbers of one."""
from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import torch

from robustgan.cli import main
from robustgan.units import split, unit_seed

# small but every kind of phase: clean, two sweeps, a minimal-norm attack, cut into several units
ARGS = ["-n", "64", "--num-minimal", "24", "--batch-size", "16", "--attacks", "fgsm,pgd,fmn", "--norms", "linf",
        "--eps-linf", "0.05,0.1", "--steps", "5", "--no-checks", "--quiet", "--device", "cpu"]
ENV = {**os.environ, "OMP_NUM_THREADS": "1"}


def numbers(report: dict) -> dict:
    """What a run measured (not how long it took or where it ran)."""
    minimal = {n: {a: {k: v for k, v in row.items() if k != "seconds"} for a, row in block["attacks"].items()}
               for n, block in report["minimal"].items()}
    return {"clean": report["clean_accuracy"], "headline": report["headline"], "minimal": minimal,
            "sweeps": [(s["attack"], s["norm"], s["robust_accuracy"], s["attacked"]) for s in report["sweeps"]]}


def cli(*args: str) -> list:
    return [sys.executable, "-m", "robustgan.cli", "evaluate", *args]


@pytest.fixture(scope="module")
def uninterrupted(tmp_path_factory):
    out = tmp_path_factory.mktemp("whole") / "run"
    proc = subprocess.run(cli(*ARGS, "--out", str(out)), capture_output=True, text=True, env=ENV, timeout=600)
    assert proc.returncode == 0, proc.stderr[-3000:]
    return json.loads((out / "report.json").read_text())


def test_units_cut_independently_of_processes_and_seeds_do_not_collide():
    cuts = split(100, 500)
    assert [c.stop - c.start for c in cuts] == [25, 25, 25, 25]
    assert sum(c.stop - c.start for c in split(1000, 300)) == 1000 and len(split(1000, 300)) == 8
    assert all(c.stop - c.start <= 16 for c in split(64, 16)) and split(0, 16) == []
    seeds = {unit_seed(0, p, i) for p in ("sweep/pgd/linf", "sweep/pgd/l2") for i in range(50)}
    assert len(seeds) == 100 and unit_seed(0, "a", 1) == unit_seed(0, "a", 1)


def test_a_finished_run_is_not_overwritten_without_resume_or_force(tmp_path, capsys):
    out = tmp_path / "run"
    small = ["-n", "32", "--attacks", "fgsm", "--norms", "linf", "--no-checks", "--quiet", "--out", str(out)]
    assert main(["evaluate", *small]) == 0
    before = {p: p.stat().st_mtime_ns for p in out.rglob("*")}
    capsys.readouterr()
    assert main(["evaluate", *small]) == 2
    err = capsys.readouterr().err
    assert "already holds results" in err and "--resume" in err and "--force" in err and err.count("\n") == 1
    assert {p: p.stat().st_mtime_ns for p in out.rglob("*")} == before  # untouched
    assert main(["evaluate", *small, "--steps", "7", "--resume"]) == 2  # other settings: refused too
    assert "other settings" in capsys.readouterr().err
    assert {p: p.stat().st_mtime_ns for p in out.rglob("*")} == before
    assert main(["evaluate", *small, "--force"]) == 0
    assert json.loads((out / "report.json").read_text())["complete"] is True


def test_resume_with_other_settings_names_them(tmp_path, capsys):
    out = tmp_path / "run"
    small = ["-n", "32", "--attacks", "fgsm", "--norms", "linf", "--no-checks", "--quiet", "--out", str(out)]
    assert main(["evaluate", *small]) == 0
    capsys.readouterr()
    assert main(["evaluate", *small, "--seed", "3", "--resume"]) == 2
    err = capsys.readouterr().err
    assert "other settings" in err and "seed (0 → 3)" in err


def test_sigkill_mid_run_then_resume_gives_the_uninterrupted_numbers(tmp_path, uninterrupted):
    out = tmp_path / "run"
    proc = subprocess.Popen(cli(*ARGS, "--out", str(out)), stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=ENV)
    first_fmn_unit = out / "state" / "minimal_linf_fmn" / "unit-00000.pt"
    deadline = time.monotonic() + 300
    while not first_fmn_unit.exists() and proc.poll() is None and time.monotonic() < deadline:
        time.sleep(0.02)
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    assert proc.returncode == -signal.SIGKILL, "the run ended before it could be killed mid-way"
    partial = json.loads((out / "report.json").read_text())
    assert partial["complete"] is False and "sweep/pgd/linf" in partial["phases"]
    assert "Partial report" in (out / "report.md").read_text()
    assert (out / "robust_accuracy.png").exists()  # the figures follow the phases too
    assert len(list((out / "state" / "minimal_linf_fmn").glob("unit-*.pt"))) < len(split(24, 16))

    loud = [a for a in ARGS if a != "--quiet"]  # the log, to see what was skipped
    resumed = subprocess.run(cli(*loud, "--out", str(out), "--resume"), capture_output=True, text=True, env=ENV,
                             timeout=600)
    assert resumed.returncode == 0, resumed.stderr[-3000:]
    log = resumed.stdout + resumed.stderr
    for phase in ("clean accuracy", "fgsm linf sweep", "pgd linf sweep"):
        assert f"{phase}: finished in an earlier run, skipped" in log
    assert "fmn linf minimal-norm: 1 of 2 units finished in an earlier run, skipped" in log
    final = json.loads((out / "report.json").read_text())
    assert final["complete"] is True
    assert numbers(final) == numbers(uninterrupted)


@pytest.mark.skipif(not torch.distributed.is_available(), reason="torch.distributed not built")
def test_two_gloo_processes_report_the_numbers_of_one(tmp_path, uninterrupted):
    out = tmp_path / "run"
    cmd = [sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc_per_node", "2",
           "-m", "robustgan.cli", "evaluate", *ARGS, "--out", str(out)]
    proc = subprocess.run(cmd, capture_output=True, text=True, env=ENV, timeout=600)
    assert proc.returncode == 0, (proc.stdout + proc.stderr)[-3000:]
    report = json.loads((out / "report.json").read_text())
    assert report["processes"] == 2 and report["complete"] is True
    assert numbers(report) == numbers(uninterrupted)
    assert sorted(p.name for p in out.iterdir()) == sorted(
        ["report.json", "report.md", "report.html", "robustbench.json", "robust_accuracy.png",
         "adversarial_examples.png", "state"])
    # every unit computed once and saved once, whichever rank ran it
    assert len(list((out / "state" / "sweep_pgd_linf").glob("unit-*.pt"))) == len(split(64, 16))


def _commands():
    """Every sub-command of the CLI with the arguments it cannot run without."""
    import argparse

    from robustgan.cli import build_parser

    found = []

    def walk(parser, path):
        for action in parser._actions:
            if isinstance(action, argparse._SubParsersAction):
                for name, sub in action.choices.items():
                    walk(sub, path + [name])
                return
        needed = []
        for action in parser._actions:
            if not action.option_strings and action.dest != "help":
                needed.append(sorted(action.choices)[0] if action.choices else "x")
            elif action.required:
                needed += [action.option_strings[0], sorted(action.choices)[0] if action.choices else "x.pt"]
        devices = any("--device" in a.option_strings for a in parser._actions)
        found.append((path, needed, devices))

    walk(build_parser(), [])
    return found


@pytest.mark.parametrize("command,needed,has_device", _commands(), ids=lambda v: " ".join(v) if isinstance(v, list) else None)
def test_every_command_takes_device_auto_and_refuses_an_absent_device_in_one_line(command, needed, has_device,
                                                                                 tmp_path, capsys, monkeypatch):
    assert has_device, f"robustgan {' '.join(command)} has no --device"
    monkeypatch.chdir(tmp_path)
    absent = ["tpu", "meta"] + ([] if torch.cuda.is_available() else ["cuda"])
    for device in absent:
        assert main([*command, *needed, "--device", device]) == 2
        err = capsys.readouterr().err
        assert err.count("\n") == 1 and device in err, err
    assert list(tmp_path.iterdir()) == []  # refused before anything was written


def test_device_errors_are_one_line_with_exit_code_2(tmp_path, capsys):
    for device in ("tpu", "meta") + (() if torch.cuda.is_available() else ("cuda",)):
        assert main(["evaluate", "-n", "8", "--device", device, "--out", str(tmp_path / device)]) == 2
        err = capsys.readouterr().err
        assert err.count("\n") == 1 and device in err
        assert not (tmp_path / device).exists()
