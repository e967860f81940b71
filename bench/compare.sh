#!/usr/bin/env bash
# Side-by-side: `vqvae bench --json` and the two PyTorch reference scripts (../shared/bench), in one
# run on this machine, then a table of medians and our/PyTorch ratios (lower is better for us).
# Usage: bench/compare.sh [--batch 64] [--threads 2] [--steps 20] [--warmup 3]
# Needs Debian's PyTorch for the references: apt-get install -y python3-torch.
set -euo pipefail
cd "$(dirname "$0")/.."
batch=64 threads=2 steps=20 warmup=3
while [ $# -gt 0 ]; do
  case "$1" in
    --batch) batch=$2; shift 2 ;; --threads) threads=$2; shift 2 ;;
    --steps) steps=$2; shift 2 ;; --warmup) warmup=$2; shift 2 ;;
    *) echo "compare.sh: unknown option $1" >&2; exit 2 ;;
  esac
done
refs=${VQVAE_TORCH_BENCH:-../shared/bench}
py=/usr/bin/python3
[ -f "$refs/torch_vqvae_bench.py" ] || { echo "compare.sh: PyTorch reference scripts not found in $refs (set VQVAE_TORCH_BENCH)" >&2; exit 2; }
$py -c "import torch" 2>/dev/null || { echo "compare.sh: $py cannot import torch; apt-get install -y python3-torch" >&2; exit 2; }

tmp=$(mktemp -d)
echo "# building vqvae (Release)" >&2
dotnet build src/VqVae.Cli -c Release -v q -nologo >/dev/null
echo "# vqvae bench" >&2
dotnet run --project src/VqVae.Cli -c Release --no-build -- bench --batch "$batch" --threads "$threads" \
  --steps "$steps" --warmup "$warmup" --json > "$tmp/ours.json"
echo "# PyTorch stock" >&2
$py "$refs/torch_vqvae_bench.py" --batch "$batch" --threads "$threads" --steps "$steps" --warmup "$warmup" --json "$tmp/stock.json" >&2
echo "# PyTorch oneDNN" >&2
$py "$refs/torch_vqvae_onednn.py" --batch "$batch" --threads "$threads" --steps "$steps" --warmup "$warmup" --json "$tmp/onednn.json" >&2

$py - "$tmp" "$batch" "$threads" <<'PY'
import json, sys
d, batch, threads = sys.argv[1], sys.argv[2], sys.argv[3]
ours = json.load(open(f"{d}/ours.json"))
stock = json.load(open(f"{d}/stock.json"))
onednn = json.load(open(f"{d}/onednn.json"))
rows = [("train step", "train_step_ms", "train"), ("inference", "inference_ms", "infer"), ("quantize", "quantize_ms", "quant")]
print(f"batch {batch}, {threads} threads, medians in ms (ratio = ours / PyTorch; < 1 means we are faster)")
print(f"| {'':10} | {'vqvae':>9} | {'torch stock':>11} | {'torch oneDNN':>12} | {'vs stock':>8} | {'vs oneDNN':>9} |")
print(f"|{'-'*12}|{'-'*11}|{'-'*13}|{'-'*14}|{'-'*10}|{'-'*11}|")
for name, ok, tk in rows:
    o = ours[ok]["median"]; s = stock[tk]["median_ms"]; n = onednn[tk]["median_ms"]
    print(f"| {name:10} | {o:9.1f} | {s:11.1f} | {n:12.1f} | {o/s:8.3f} | {o/n:9.3f} |")
g = ours.get("gflops")
if g is not None:
    print(f"vqvae achieved GFLOP/s: {json.dumps(g)}")
c = ours.get("train_step_cost")
if c is not None:
    print(f"vqvae train step: {c['cpu_ms_median']:.1f} ms process CPU, {c['allocated_bytes_median'] / 1e6:.2f} MB allocated (medians), "
          f"GCs gen0/1/2 {c['gen0']}/{c['gen1']}/{c['gen2']}")
try:
    print(f"load average at the end: {open('/proc/loadavg').read().split()[:3]}")
except OSError:
    pass
PY
