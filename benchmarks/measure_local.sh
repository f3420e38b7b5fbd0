#!/usr/bin/env bash
# Every speed number of issue 13 on this CPU, in one go (< 15 min on 2 quiet cores). Run it on a quiet machine:
# the bench flags rounds during which other processes used the CPU and says so in the tables.
#
#   bash benchmarks/measure_local.sh            # from the repository root, in the project's virtualenv
#
# 1. Table 7 (local preset, 2 threads): records under results/local/table7/, tables/local/table7_speed.*, the
#    report tables/local/table7_bench_local_cpu.{json,md,png}. Its encode section is the fast-path comparison in
#    one process, interleaved: sentence-transformers encode() fp32, ours encode(), encode(fast=True) (precision
#    chosen by measuring), encode(fast=True, precision="fp32"), and InferSent v1's shape.
# 2. all-MiniLM-L6-v2 STSb test Spearman: fp32 encode() vs the fast path's default precision (faithfulness).
# 3. Training throughput: sbert-repro bench --train (ours vs sentence-transformers, steps/s):
#    tables/local/table7_train_minilm_cpu.{json,md}.
# 4. A summary of all of it (also written to tables/local/measure_local_summary.md).
set -euo pipefail
cd "$(dirname "$0")/.."
export TOKENIZERS_PARALLELISM=false SBERT_REPRO_DATA="${SBERT_REPRO_DATA:-$PWD/../shared/data}"
PY="${PYTHON:-python}"
T0=$(date +%s)
echo "== $(date -u) load average: $(cut -d' ' -f1-3 /proc/loadavg)"

echo "== 1. Table 7, local preset"
$PY -m repro bench --profile local --threads 2

echo "== 2. all-MiniLM-L6-v2 STSb Spearman, fp32 vs the fast path's default precision"
$PY - <<'PYEOF' | tee .benchmarks-minilm-stsb.json.tmp
import json
import numpy as np
import torch
from scipy.stats import spearmanr
from repro.data.sts import load_stsb
from repro.encoders.transformer import SentenceEncoder
from repro.encoders.calibrate import calibrate

torch.set_num_threads(2)
enc = SentenceEncoder("sentence-transformers/all-MiniLM-L6-v2", device="cpu")
test = load_stsb("test")
sents = sorted(set(test.sentences1) | set(test.sentences2))
row = {s: i for i, s in enumerate(sents)}
i1, i2 = [row[s] for s in test.sentences1], [row[s] for s in test.sentences2]
cal = calibrate(enc.transformer.config)
def rho(e):
    a, b = e[i1], e[i2]
    cos = (a * b).sum(1) / (np.linalg.norm(a, axis=1) * np.linalg.norm(b, axis=1))
    return 100 * spearmanr(cos, test.scores).statistic
ref = enc.encode(sents)
out = {"precision_default": cal.precision, "calibration": cal.reason, "spearman_fp32": rho(ref),
       "spearman_fast_default": rho(enc.encode(sents, fast=True)),
       "spearman_fast_fp32": rho(enc.encode(sents, fast=True, precision="fp32"))}
print(json.dumps(out))
PYEOF
mkdir -p tables/local && mv .benchmarks-minilm-stsb.json.tmp tables/local/measure_local_minilm_stsb.json

echo "== 3. training throughput"
$PY -m repro bench --train --threads 2 --train-steps 10 --repeats 3

echo "== 4. summary"
$PY - "$(( $(date +%s) - T0 ))" <<'PYEOF' | tee tables/local/measure_local_summary.md
import json, sys
from pathlib import Path
t = Path("tables/local")
rep = json.loads((t / "table7_bench_local_cpu.json").read_text())
enc = rep["sections"]["encode"]["cases"]
stsb = json.loads((t / "measure_local_minilm_stsb.json").read_text())
train = json.loads((t / "table7_train_minilm_cpu.json").read_text())
print(f"# Speed on {rep['hardware']} ({rep['env']['date']}; {int(sys.argv[1]) // 60} min {int(sys.argv[1]) % 60} s)\n")
print("| case | sentences/s | x sentence-transformers | x smart batching | dtype | warning |")
print("|---|---|---|---|---|---|")
names = {"peer": "sentence-transformers encode() fp32", "smart": "ours encode()", "fast": "ours encode(fast=True)",
         "fast_fp32": "ours encode(fast=True, precision='fp32')", "plain": "ours, no smart batching",
         "infersent": "InferSent v1 shape (random weights)"}
for k in ("peer", "smart", "fast", "fast_fp32", "plain", "infersent"):
    if k in enc:
        c = enc[k]
        vp = f"{c['vs_peer']:.2f}" if c.get("vs_peer") else "-"
        print(f"| {names[k]} | {c['per_second']:.1f} | {vp} | {c['vs_smart']:.2f} | {c['dtype']} | "
              f"{c.get('warning') or ''} |")
if "fast_fp32" not in enc:
    print("\n(the default precision is fp32 here: encode(fast=True, precision='fp32') is the same path as the default)")
cal = rep["sections"]["encode"].get("calibration") or {}
print(f"\nfast-path precision: {cal.get('precision', enc['fast']['dtype'])} ({cal.get('reason', 'set explicitly')})")
print(f"all-MiniLM-L6-v2 STSb test Spearman x100: fp32 {stsb['spearman_fp32']:.4f}, fast default "
      f"({stsb['precision_default']}) {stsb['spearman_fast_default']:.4f} "
      f"(diff {stsb['spearman_fast_default'] - stsb['spearman_fp32']:+.4f}), fast fp32 {stsb['spearman_fast_fp32']:.4f}")
c = train["cases"]
line = f"training ({train['model']}, batch 16, fp32): ours {c['ours']['steps_per_second']:.2f} steps/s"
if "peer" in c:
    line += f", sentence-transformers {c['peer']['steps_per_second']:.2f} steps/s: {train['ours_vs_peer']:.2f}x"
print(line)
warn = [f"encode/{k}: {v['warning']}" for k, v in enc.items() if v.get("warning")]
warn += [f"train/{k}: {v['warning']}" for k, v in c.items() if v.get("warning")]
print("\nwarnings: " + ("; ".join(warn) if warn else "none (no busy or spread rounds)"))
PYEOF
