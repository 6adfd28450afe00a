#!/usr/bin/env bash
# The GPU check, in one call on a machine with CUDA (no network needed):
#   bash benchmarks/gpu/run.sh OUT
# 1. the device-aware tests on CUDA as well as the CPU (pytest --device cuda);
# 2. the verdicts benchmark on CUDA: PGD-20 on a PGD-AT CNN (fooled and cycling points retired)
#    against torchattacks, and compiled against eager PGD (default CNN, timm resnet18);
# 3. the PGD-10, standard suite (vs torchattacks AutoAttack), GAN inversion, PGD-AT epoch and GAN
#    training throughput benchmarks on CUDA, each at a size that fits its slice.
# Each step has its own time limit (about 90 + 120 + 40 + 85 + 40 + 40 + 40 s) and none may run past
# an overall deadline, so that the whole stays under 8 minutes. Results go to OUT: one log per step
# (ending "<step> exit N"; 124 means it ran out of time) and each benchmark's section as OUT/<key>.md
# (keys end in -cuda; nothing is written to benchmarks/RESULTS.md).
# Needs: a CUDA build of torch, the project installed (pip install --no-deps -e .), pytest, timm and
# torchattacks importable (install them from wheels beforehand: nothing is downloaded here), and the
# Fashion-MNIST files or the embedded sample the package falls back to. foolbox and ART are optional
# (bench_pgd reports a missing one as "not installed").
set -u
OUT=${1:?usage: bash benchmarks/gpu/run.sh OUT}
mkdir -p "$OUT"
OUT=$(cd "$OUT" && pwd)
cd "$(dirname "$0")/../.."
DEADLINE=$((SECONDS + 470))  # 7 min 50 s for everything below

# step NAME SLICE CMD...: run CMD with at most SLICE seconds (less if the deadline is nearer),
# stdout and stderr to OUT/NAME.log, and its exit status echoed there and here.
step() {
    local name=$1 slice=$2 left
    shift 2
    left=$((DEADLINE - SECONDS))
    if [ "$left" -lt 5 ]; then
        echo "$name skipped: no time left" | tee "$OUT/$name.log"
        return
    fi
    [ "$slice" -gt "$left" ] && slice=$left
    timeout -k 5 "$slice" "$@" > "$OUT/$name.log" 2>&1
    local rc=$?
    echo "$name exit $rc" >> "$OUT/$name.log"
    echo "$name exit $rc ($((SECONDS)) s elapsed)"
}

timeout 20 nvidia-smi > "$OUT/nvidia-smi.txt" 2>&1 || true
timeout 30 python3 -c "import torch; print(torch.__version__, torch.cuda.is_available(), torch.cuda.get_device_name(0) if torch.cuda.is_available() else '')" \
    > "$OUT/torch.txt" 2>&1
step pytest 90 python3 -m pytest -q -p no:cacheprovider --device cuda tests/test_device_aware.py tests/optim/test_loop_modes.py
step bench_verdicts 120 python3 benchmarks/bench_verdicts.py --device cuda --n 1000 --repeats 3 --out "$OUT"
step bench_pgd 40 python3 benchmarks/bench_pgd.py --device cuda --n 2000 --repeats 3 --out "$OUT"
step bench_autoattack 85 python3 benchmarks/bench_autoattack.py --device cuda --n 200 --paper-steps 0 --out "$OUT"
step bench_inversion 40 python3 benchmarks/bench_inversion.py --device cuda --images 8 --restarts 4 --steps 50 --repeats 2 --out "$OUT"
step bench_adv_training 40 python3 benchmarks/bench_adv_training.py --device cuda --n 2560 --steps 7 --repeats 3 --out "$OUT"
step bench_gan 40 python3 benchmarks/bench_gan.py --device cuda --iters 60 --repeats 3 --out "$OUT"
tail -n 3 "$OUT"/*.txt "$OUT"/*.log
