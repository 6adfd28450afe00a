"""benchmarks/gpu/run.sh: it parses, runs every GPU-ready benchmark on CUDA within its slice, and
each benchmark's command line takes the flags the script gives it (no GPU needed)."""
from __future__ import annotations

import shlex
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
SCRIPT = ROOT / "benchmarks" / "gpu" / "run.sh"
BENCHMARKS = ("bench_verdicts.py", "bench_pgd.py", "bench_autoattack.py", "bench_inversion.py",
              "bench_adv_training.py", "bench_gan.py")

# --help of each script in one interpreter (torch is imported once): its output, between markers.
HELP_ALL = r"""
import contextlib, io, runpy, sys
sys.path.insert(0, "benchmarks")
for script in sys.argv[1:]:
    sys.argv = [script, "--help"]
    buf = io.StringIO()
    with contextlib.redirect_stdout(buf):
        try:
            runpy.run_path(script, run_name="__main__")
        except SystemExit:
            pass
    print("=====", script)
    print(buf.getvalue())
"""


def steps():
    """name -> (slice in seconds, the command's words) for each ``step`` line of run.sh."""
    out = {}
    for line in SCRIPT.read_text().splitlines():
        if line.startswith("step "):
            words = shlex.split(line)
            out[words[1]] = (int(words[2]), words[3:])
    return out


@pytest.mark.skipif(shutil.which("bash") is None, reason="needs bash")
def test_script_parses():
    subprocess.run(["bash", "-n", str(SCRIPT)], check=True, timeout=10)


def test_script_runs_every_benchmark_on_cuda_within_eight_minutes():
    found = steps()
    commands = {words[1]: words for _, words in found.values() if len(words) > 1 and words[1].startswith("benchmarks/")}
    for name in BENCHMARKS:
        words = commands.get(f"benchmarks/{name}")
        assert words is not None, f"run.sh does not run {name}"
        assert words[words.index("--device") + 1] == "cuda", name
        assert words[words.index("--out") + 1] == "$OUT", name
    assert "pytest" in found
    assert sum(s for s, _ in found.values()) <= 470
    assert "DEADLINE=$((SECONDS + 470))" in SCRIPT.read_text()


def test_benchmarks_accept_the_flags_the_script_gives():
    scripts = [f"benchmarks/{name}" for name in BENCHMARKS]
    res = subprocess.run([sys.executable, "-c", HELP_ALL, *scripts], cwd=ROOT, capture_output=True, text=True,
                         timeout=120)
    assert res.returncode == 0, res.stderr
    helps = {}
    for chunk in res.stdout.split("===== ")[1:]:
        script, _, text = chunk.partition("\n")
        helps[script] = text
    by_script = {words[1]: words for _, words in steps().values() if len(words) > 1}
    for script in scripts:
        text = helps.get(script, "")
        assert "--device" in text and "--out" in text, f"{script} --help lacks --device or --out:\n{text}"
        for flag in (w for w in by_script[script][2:] if w.startswith("--")):
            assert flag in text, f"run.sh gives {script} {flag}, which its --help does not list"
