"""Build the encoder a table row asks for."""

from __future__ import annotations

from repro.errors import ModelNotAvailable
from repro.profiles import ModelRow


def build_encoder(row: ModelRow, data_root=None, device: str | None = None, dtype: str = "fp32"):
    if row.kind == "unavailable":
        raise ModelNotAvailable(f"{row.model}: {row.reason}")
    if row.kind == "infersent":  # the release files from the data root, or a not-run reason saying how to get them
        from repro.encoders.infersent import load_infersent

        return load_infersent(data_root, device=device or "cpu")
    if row.kind == "wordvec":
        from repro.encoders.wordvec import AverageWordEmbeddings

        return AverageWordEmbeddings.load(row.model, data_root=data_root)
    if row.kind == "transformer":
        from repro.encoders.transformer import SentenceEncoder
        from repro.models import SMOKE_BERT

        model = row.model if row.model != SMOKE_BERT else _smoke(data_root)
        return SentenceEncoder(model, pooling=row.pooling, layer=row.layer, max_seq_length=row.max_seq_length,
                               device=device, dtype=dtype, name=row.model)
    raise ValueError(f"unknown model kind {row.kind!r}")


def _smoke(data_root):
    from repro.smoke import smoke_bert_path

    return smoke_bert_path(data_root)
