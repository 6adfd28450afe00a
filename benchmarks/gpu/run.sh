#!/usr/bin/env bash
# The GPU check, in one call on a machine with CUDA (no network needed):
#   bash benchmarks/gpu/run.sh OUT
# 1. the device-aware tests on CUDA as well as the CPU (pytest --device cuda);
# 2. the verdicts benchmark on CUDA: PGD-20 on a PGD-AT CNN (fooled and cycling points retired)
#    against torchattacks, and compiled against eager PGD (default CNN, timm resnet18).
# Each step has its own time limit so that the whole stays under 8 minutes; results go to OUT.
# Needs the project installed (pip install --no-deps -e .) and torchattacks importable.
set -u
OUT=${1:?usage: bash benchmarks/gpu/run.sh OUT}
mkdir -p "$OUT"
cd "$(dirname "$0")/../.."
nvidia-smi > "$OUT/nvidia-smi.txt" 2>&1 || true
python3 -c "import torch; print(torch.__version__, torch.cuda.is_available(), torch.cuda.get_device_name(0) if torch.cuda.is_available() else '')" \
    > "$OUT/torch.txt" 2>&1
timeout 240 python3 -m pytest -q -p no:cacheprovider --device cuda tests/test_device_aware.py tests/optim/test_loop_modes.py \
    > "$OUT/pytest.txt" 2>&1
echo "pytest exit $?" >> "$OUT/pytest.txt"
timeout 220 python3 benchmarks/bench_verdicts.py --device cuda --n 1000 --repeats 3 --out "$OUT" \
    > "$OUT/bench_verdicts.log" 2>&1
echo "bench_verdicts exit $?" >> "$OUT/bench_verdicts.log"
tail -n 3 "$OUT"/*.txt "$OUT"/*.log
