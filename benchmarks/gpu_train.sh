#!/usr/bin/env bash
# Training throughput on the GPU (issue 13): our trainer's step vs sentence-transformers' loop, BERT-base shape
# (random weights, bert-base-uncased vocabulary), NLI softmax objective, batch 16, fp32, one process, interleaved.
# Reference: the plain loop measured 15.4 steps/s on an H100 for BERT-base at batch 16 in fp32 (launch-bound);
# the goal is >= 2x that (30.8 steps/s) with the same math.
#
#   here:   python benchmarks/prepare_gpu_carry.py            # .benchmarks/gpu_carry (STSb, SNLI, MiniLM)
#   device: run(command="bash benchmarks/gpu_train.sh", carry=[".benchmarks/gpu_carry"], timeout_s=600)
#
# Writes into $OUT (default .benchmarks/gpu_out): train_log.txt, table7_train_sbert-base_cuda.{json,md},
# gpu_train_check.{json,md} (base/large x fp32/bf16 steps/s and peak memory; kill -9 and resume), and the paper
# profile's rehearsal on the GPU (issue 20): rehearsal_log.txt and rehearsal/tables/paper-rehearsal/.
set -uo pipefail
cd "$(dirname "$0")/.."
CARRY=.benchmarks/gpu_carry
OUT="${OUT:-$PWD/.benchmarks/gpu_out}"
mkdir -p "$OUT"
PY="${PYTHON:-python3}"
export PYTHONPATH="$PWD${PYTHONPATH:+:$PYTHONPATH}" PYTHONUNBUFFERED=1 TOKENIZERS_PARALLELISM=false HF_HUB_OFFLINE=1
export SBERT_REPRO_DATA="$PWD/$CARRY/data" SBERT_REPRO_CACHE="${SBERT_REPRO_CACHE:-/tmp/sbert-repro-cache}"
MINILM="sentence-transformers/all-MiniLM-L6-v2=$PWD/$CARRY/minilm"
if [ ! -d "$CARRY/data/nli/snli-senteval" ]; then
  echo "missing $CARRY/data/nli: run python benchmarks/prepare_gpu_carry.py here and carry it" | tee "$OUT/train_log.txt"
  exit 2
fi
{ date -u; nvidia-smi --query-gpu=name,memory.total --format=csv; } 2>&1 | tee "$OUT/train_log.txt"
timeout 360 $PY -m repro bench --train --train-model sbert-base --device cuda --train-steps 40 --repeats 3 \
  --model-path "$MINILM" --report-dir "$OUT" 2>&1 | tee -a "$OUT/train_log.txt"
$PY - "$OUT/table7_train_sbert-base_cuda.json" <<'PYEOF' 2>&1 | tee -a "$OUT/train_log.txt"
import json, sys
r = json.load(open(sys.argv[1]))
c = r["cases"]
ours = c["ours"]["steps_per_second"]
print(f"GPU {r['hardware']}: ours {ours:.1f} steps/s (goal >= 30.8 = 2 x 15.4), "
      + (f"sentence-transformers {c['peer']['steps_per_second']:.1f} steps/s, ratio {r['ours_vs_peer']:.2f}x"
         if "peer" in c else "no peer"))
PYEOF
# The training path itself (issue 10): base and large shapes, fp32 and bf16, 300 steps each: steps/s and peak
# memory, then one kill -9 at step 150 and a resume (gpu_train_check.{json,md}).
timeout 300 $PY benchmarks/gpu_train_check.py --device cuda --steps 300 --out "$OUT" 2>&1 | tee -a "$OUT/train_log.txt"
# The paper profile's rehearsal on the GPU (issue 20): every unit of the paper profile on miniatures built here from
# the carried real data (data-root.tar.xz), tiny random models, --device cuda, 4 workers on the one GPU.
REAL="${TMPDIR:-/tmp}/sbert-repro-real-data"
REH="$OUT/rehearsal"
if [ -f "$CARRY/data-root.tar.xz" ]; then
  rm -rf "$REAL" && mkdir -p "$REAL" "$REH" && tar -xJf "$CARRY/data-root.tar.xz" -C "$REAL"
  { date -u; echo "rehearsal: sbert-repro reproduce --profile paper --rehearse --device cuda"; } | tee "$OUT/rehearsal_log.txt"
  SBERT_REPRO_CACHE="${TMPDIR:-/tmp}/sbert-repro-rehearsal-cache" timeout 240 $PY -m repro reproduce --profile paper \
    --rehearse --device "${REHEARSE_DEVICE:-cuda}" --executor processes --workers "${REHEARSE_WORKERS:-4}" \
    --data-root "$REAL" --results-dir "$REH/results" --tables-dir "$REH/tables" \
    --log-dir "${TMPDIR:-/tmp}/sbert-repro-rehearsal-logs" 2>&1 | grep -v '^\[executor\] [0-9]*/[0-9]* start' \
    | tee -a "$OUT/rehearsal_log.txt"
  echo "rehearsal exit ${PIPESTATUS[0]}" | tee -a "$OUT/rehearsal_log.txt"
  rm -rf "$REH/results"  # records of miniature runs: the tables and the log say what ran
else
  echo "no $CARRY/data-root.tar.xz: run python benchmarks/prepare_gpu_carry.py again (rehearsal skipped)" \
    | tee "$OUT/rehearsal_log.txt"
fi
