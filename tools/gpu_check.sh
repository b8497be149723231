#!/usr/bin/env bash
# The checks that need an NVIDIA GPU, in one command and under 5 minutes, from a checkout (the package installed, or its
# dependencies on PYTHONPATH: benchmarks/README.md):
#   1. unit tests with the shared networks on cuda (NST_TEST_DEVICE=cuda): precision, losses, optimisation, science
#   2. style transfer end to end (`nst transfer`, astronaut + swirls, 512 px, 500 L-BFGS steps) in fp32 and in auto,
#      and each result's loss evaluated in fp32
#   3. `nst bench --device cuda` at 256 and 512 px, ours in fp32, auto (bf16) and fp16, beside the peers
# Writes benchmarks/results/gpu_check_cuda.md (with the transfers' images and the bench's bench_cuda.json and .md
# beside it) and prints it. Exits 2 without a GPU, 1 if a step failed or ran out of its time.
# Usage: tools/gpu_check.sh [--rehearse] [PYTHON]   (default: .venv/bin/python if there is one, else python3)
#   --rehearse: the same steps on the CPU, small and short (test_precision only, 64 px transfers of 5 steps, the bench
#   at 64 px with ours alone), into a temporary folder, so that the script is known to work before a GPU's scarce
#   minutes are spent on it (tests/test_bench.py rehearses it).
set -u
cd "$(dirname "$0")/.."
DEVICE=cuda SIZE=512 STEPS=500 OUT=benchmarks/results SLACK=1
TESTS=(tests/test_precision.py tests/test_losses.py tests/test_optimize.py tests/test_science.py)
BENCH=(--sizes 256,512 --reps 5 --precisions auto,fp16)  # fp16: is it worth offering beside bf16?
if [ "${1:-}" = --rehearse ]; then
    shift
    DEVICE=cpu SIZE=64 STEPS=5 OUT=$(mktemp -d) SLACK=4  # the limits x4: a rehearsal checks the steps, not their time
    trap 'rm -rf "$OUT"' EXIT
    TESTS=(tests/test_precision.py)
    BENCH=(--sizes 64 --reps 1 --implementations nst_helpers)
fi
PY=${1:-python3}
if [ $# -eq 0 ] && [ -x .venv/bin/python ]; then PY=.venv/bin/python; fi
REPORT=$OUT/gpu_check_$DEVICE.md
CONTENT=images/content/astronaut.png
STYLE=images/style/swirls.png
mkdir -p "$OUT"

if [ $DEVICE = cuda ] && ! "$PY" -c "import sys, torch; sys.exit(0 if torch.cuda.is_available() else 1)"; then
    echo "gpu_check: no CUDA GPU here (torch.cuda.is_available() is False); run it on a machine with one" >&2
    exit 2
fi

failed=0
steps=""
# step NAME SECONDS COMMAND...: run it with a time limit (all of them: 300 s) times SLACK, its output to
# $OUT/gpu_check_NAME.log
step() {
    local name=$1 limit=$(($2 * SLACK)) start=$SECONDS outcome=ok
    shift 2
    echo "== $name (at most $limit s)"
    if ! timeout "$limit" "$@" > "$OUT/gpu_check_$name.log" 2>&1; then outcome=FAILED; failed=1; fi
    tail -n 3 "$OUT/gpu_check_$name.log"
    steps+="| $name | $outcome | $((SECONDS - start)) |"$'\n'
}

step tests 70 env NST_TEST_DEVICE=$DEVICE "$PY" -m pytest -q -p no:cacheprovider "${TESTS[@]}"
for precision in fp32 auto; do
    step "transfer_$precision" 35 "$PY" -m nst_helpers.cli transfer "$CONTENT" "$STYLE" \
        -o "$OUT/gpu_transfer_$precision.png" --size $SIZE --steps $STEPS --device $DEVICE --precision "$precision"
done
step losses 20 "$PY" - $DEVICE $SIZE "$CONTENT" "$STYLE" "$OUT/gpu_transfer_fp32.png" "$OUT/gpu_transfer_auto.png" <<'EOF'
"""The fp32 loss of each transfer's result, against the same targets."""
import sys

import torch

from nst_helpers import VGG, Objective, load_image

device, size, content, style, *results = sys.argv[1:]
vgg, size = VGG(device=device), int(size)
objective = Objective(vgg, load_image(content, size=size), load_image(style, size=size), precision="fp32")
for path in results:
    with torch.no_grad():
        print(f"{path}: fp32 loss {sum(objective(load_image(path)).values()).item():.4g}")
EOF
step bench 140 "$PY" -m benchmarks.bench --device $DEVICE "${BENCH[@]}" --out "$OUT"

{
    echo "# GPU check (tools/gpu_check.sh), $(date -u +%Y-%m-%d)"
    echo
    "$PY" -m nst_helpers.cli doctor --device $DEVICE 2>&1 | sed 's/^/    /'
    echo
    echo "| step | outcome | seconds |"
    echo "|---|---|---|"
    printf '%s' "$steps"
    echo
    echo "Transfers ($SIZE px, $STEPS L-BFGS steps; nst's line, then each result's loss in fp32):"
    echo
    for precision in fp32 auto; do tail -n 1 "$OUT/gpu_check_transfer_$precision.log" | sed 's/^/    /'; done
    sed 's/^/    /' "$OUT/gpu_check_losses.log"
    echo
    cat "$OUT/bench_$DEVICE.md" 2>/dev/null || echo "(no bench table: see $OUT/gpu_check_bench.log)"
} > "$REPORT"
cat "$REPORT"
exit $failed
