#!/usr/bin/env bash
# The GPU column of Table 7, in one run on a machine with an NVIDIA GPU (see benchmarks/RESULTS.md, "GPU run").
#
#   here:   python benchmarks/prepare_gpu_carry.py            # writes .benchmarks/gpu_carry (STSb + MiniLM, ~48 MB)
#   device: run(command="bash benchmarks/gpu_run.sh", carry=[".benchmarks/gpu_carry"], timeout_s=600)
#
# Needs python3 with torch (CUDA), transformers, tokenizers, sentence-transformers, scipy, pandas, matplotlib (the
# device image has them); the repository is used from its folder (PYTHONPATH), nothing is installed. Writes into
# $OUT (default .benchmarks/gpu_out): log.txt, faithfulness.json, table7_bench_full_cuda.{json,md}, records.tgz
# (the result records and the rebuilt Table 7: copy results/ into the main results folder to merge).
set -uo pipefail
cd "$(dirname "$0")/.."
CARRY=.benchmarks/gpu_carry
OUT="${OUT:-$PWD/.benchmarks/gpu_out}"
mkdir -p "$OUT"
PY="${PYTHON:-python3}"
export PYTHONPATH="$PWD${PYTHONPATH:+:$PYTHONPATH}" PYTHONUNBUFFERED=1 TOKENIZERS_PARALLELISM=false HF_HUB_OFFLINE=1
export SBERT_REPRO_DATA="$PWD/$CARRY/data" SBERT_REPRO_CACHE="${SBERT_REPRO_CACHE:-/tmp/sbert-repro-cache}"
MINILM="sentence-transformers/all-MiniLM-L6-v2=$PWD/$CARRY/minilm"
if [ ! -f "$CARRY/minilm/model.safetensors" ]; then
  echo "missing $CARRY: run python benchmarks/prepare_gpu_carry.py here and carry it" | tee "$OUT/log.txt"; exit 2
fi
{
  date -u
  nvidia-smi --query-gpu=name,memory.total,driver_version,clocks.max.sm --format=csv
  nproc
  $PY -c "import torch, transformers, tokenizers, sentence_transformers as s; print('torch', torch.__version__, 'cuda', torch.version.cuda, 'transformers', transformers.__version__, 'tokenizers', tokenizers.__version__, 'sentence-transformers', s.__version__)"
} 2>&1 | tee "$OUT/log.txt"

echo "== 1. faithfulness of every fast path on the GPU" | tee -a "$OUT/log.txt"
timeout 170 $PY benchmarks/gpu_faithfulness.py --device cuda --minilm "$CARRY/minilm" --out "$OUT/faithfulness.json" \
  2>&1 | grep -v "Warning\|warn(" | tee -a "$OUT/log.txt"

echo "== 2. Table 7 on the GPU: all 15,487 STSb sentences, cross-encoder, most similar pair of 10,000, sweep" \
  | tee -a "$OUT/log.txt"
timeout 360 $PY -m repro bench --device cuda --full --sweep --model-path "$MINILM" \
  --results-dir "$OUT/results" --tables-dir "$OUT/tables" --report-dir "$OUT" 2>&1 | tee -a "$OUT/log.txt"

echo "== 3. targets" | tee -a "$OUT/log.txt"
$PY - "$OUT/table7_bench_full_cuda.json" <<'PYEOF' 2>&1 | tee -a "$OUT/log.txt"
import json, sys
r = json.load(open(sys.argv[1]))
s = r["sections"]
enc = s["encode"]["cases"]
print(f"GPU {r['hardware']}: fast encode {enc['fast']['per_second']:,.0f} sentences/s (target >= 50,000), "
      f"x{enc['fast']['vs_peer']:.1f} sentence-transformers encode() ({enc['peer']['per_second']:,.0f}/s)")
e = s["e2e"]["cases"]["fast"]
print(f"most similar pair of {s['e2e']['n']:,}: {e['total_s']:.3f} s end to end (target <= 0.25 s)")
c = s["cross"]["cases"]
print(f"cross-encoder: {c['plain']['hours_all_pairs']:.1f} h plain fp32, {c['fast']['hours_all_pairs']:.2f} h fast")
PYEOF
tar czf "$OUT/records.tgz" -C "$OUT" results tables 2>/dev/null && rm -rf "$OUT/results" "$OUT/tables"
ls -la "$OUT"
