"""Prepare what benchmarks/gpu_run.sh and gpu_train.sh need on a GPU machine that reaches nothing: the STSb files,
SNLI dev/test (SentEval format, for the training throughput) and all-MiniLM-L6-v2 (for the bert-base-uncased
vocabulary and the real-weight faithfulness check); and the real data root as ``data-root.tar.xz`` (about 5 MB),
from which gpu_train.sh builds the paper profile's rehearsal miniatures on the device (issue 20: they are built
there, not carried).

Writes ``.benchmarks/gpu_carry/`` (ignored by git; about 48 MB: the device tool carries at most 64 MiB):
``data/stsb/sts-{train,dev,test}.csv``, ``data/nli/snli-senteval/`` and ``minilm/``
(the model folder with its weights stored in fp16, which
gpu_faithfulness.py upcasts to fp32). Then, with the device tool:

    run(command="bash benchmarks/gpu_run.sh", carry=[".benchmarks/gpu_carry"], timeout_s=600)
"""

from __future__ import annotations

import argparse
import json
import shutil
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--data-root", help="default: $SBERT_REPRO_DATA, else ../shared/data")
    ap.add_argument("--out", default=str(REPO / ".benchmarks" / "gpu_carry"))
    args = ap.parse_args()

    import os

    import torch
    from safetensors.torch import load_file, save_file

    from repro.weights import resolve_model

    root = Path(args.data_root or os.environ.get("SBERT_REPRO_DATA") or REPO.parent / "shared" / "data")
    out = Path(args.out)
    if out.exists():
        shutil.rmtree(out)
    (out / "data" / "stsb").mkdir(parents=True)
    for split in ("train", "dev", "test"):
        shutil.copy2(root / "stsb" / f"sts-{split}.csv", out / "data" / "stsb" / f"sts-{split}.csv")
    # SNLI dev/test in SentEval's format (2.4 MB): the pairs gpu_train.sh trains on
    shutil.copytree(root / "nli" / "snli-senteval", out / "data" / "nli" / "snli-senteval")
    src = resolve_model("sentence-transformers/all-MiniLM-L6-v2")
    dst = out / "minilm"
    shutil.copytree(src, dst, ignore=shutil.ignore_patterns("model.safetensors", "*.onnx", "onnx", "openvino",
                                                            "*.bin", "*.h5", "*.msgpack", "*.ot"))
    weights = load_file(str(src / "model.safetensors"))
    save_file({k: (v.half() if v.is_floating_point() else v).contiguous() for k, v in weights.items()},
              str(dst / "model.safetensors"), metadata={"format": "pt"})
    cfg = json.loads((dst / "config.json").read_text())
    cfg["torch_dtype"] = cfg["dtype"] = "float32"  # load as fp32 (the stored fp16 values are upcast)
    (dst / "config.json").write_text(json.dumps(cfg, indent=2))
    import tarfile

    with tarfile.open(out / "data-root.tar.xz", "w:xz") as tar:  # every dataset the miniatures sample from
        for folder in sorted(p for p in root.iterdir() if p.is_dir()):
            tar.add(folder, arcname=folder.name)
    size = sum(p.stat().st_size for p in out.rglob("*") if p.is_file())
    print(f"wrote {out} ({size / 2**20:.1f} MiB; the device tool carries at most 64 MiB with the repository)")
    if size > 60 * 2**20:
        print("warning: too large to carry")
        return 1
    del torch
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
