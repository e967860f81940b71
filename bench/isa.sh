#!/usr/bin/env bash
# Speed per ISA level, in one run on this machine (issue 11).
#   bench/isa.sh levels T [R]      ours at every level the CPU has (and scalar), R interleaved rounds at T threads:
#                                  train / inference / quantize medians and each level's ratio to avx2
#   bench/isa.sh versus LEVEL T [R]  ../shared/bench/compare3.sh with ours forced to LEVEL (avx512|avx2) and libtorch
#                                  (ATen dispatch, MKL, oneDNN) capped to the same instruction set: on an AVX-512
#                                  machine, `versus avx2` stands in for an AVX2-only one (same cores, same caches).
# Env: VQVAE (command for ours, default the Release CLI build), VQVAE_SHARED_BENCH (default ../shared/bench, from the
#      repository root), and the rest passed through to compare3.sh.
set -euo pipefail
cd "$(dirname "$0")/.."
VQVAE=${VQVAE:-dotnet src/VqVae.Cli/bin/Release/net10.0/vqvae.dll}
[ -f src/VqVae.Cli/bin/Release/net10.0/vqvae.dll ] || dotnet build src/VqVae.Cli -c Release -v q -nologo >/dev/null
case "${1:-}" in
  versus)
    level=${2:?usage: isa.sh versus avx512|avx2 THREADS [ROUNDS]}; t=${3:?threads}; r=${4:-3}
    case "$level" in
      avx2) export ATEN_CPU_CAPABILITY=avx2 MKL_ENABLE_INSTRUCTIONS=AVX2 ONEDNN_MAX_CPU_ISA=AVX2 DNNL_MAX_CPU_ISA=AVX2 ;;
      avx512) ;;
      *) echo "isa.sh: versus takes avx512 or avx2 (libtorch has no other level to cap at), got '$level'" >&2; exit 2 ;;
    esac
    VQVAE_ISA=$level VQVAE="$VQVAE" bash "${VQVAE_SHARED_BENCH:-../shared/bench}/compare3.sh" "$t" "$r" ;;
  levels)
    t=${2:?usage: isa.sh levels THREADS [ROUNDS]}; r=${3:-3}; out=$(mktemp -d)
    levels=$(for l in avx512 avx2 vector128 scalar; do
      VQVAE_ISA=$l $VQVAE bench --steps 1 --warmup 0 --json >/dev/null 2>&1 && echo "$l"; done)
    for i in $(seq 1 "$r"); do
      for l in $levels; do
        steps=20; [ "$l" = scalar ] && steps=3   # the scalar path is a correctness reference, several times slower
        VQVAE_ISA=$l $VQVAE bench --threads "$t" --steps "$steps" --warmup 2 --json > "$out/r${i}_$l.json"
      done
    done
    python3 - "$out" "$r" "$t" $levels <<'PY'
import json, statistics, sys
out, r, t, levels = sys.argv[1], int(sys.argv[2]), sys.argv[3], sys.argv[4:]
keys = [("train_step_ms", "train"), ("inference_ms", "inference"), ("quantize_ms", "quantize")]
med = {l: {k: statistics.median(json.load(open(f"{out}/r{i}_{l}.json"))[k]["median"] for i in range(1, r + 1)) for k, _ in keys} for l in levels}
print(f"batch 64, {t} thread(s), median over {r} interleaved rounds of each run's median (ms); (×) = ratio to avx2")
print("| level | " + " | ".join(n for _, n in keys) + " |")
print("|---|" + "---|" * len(keys))
for l in levels:
    cells = [f"{med[l][k]:.1f}" + (f" ({med[l][k] / med['avx2'][k]:.2f}×)" if "avx2" in med else "") for k, _ in keys]
    print(f"| {l} | " + " | ".join(cells) + " |")
PY
    ;;
  *) sed -n '2,9p' "$0" >&2; exit 2 ;;
esac
