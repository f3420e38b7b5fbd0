"""Build the encoder a table row asks for (kind transformer | wordvec | infersent | use | python | unavailable), and
the one smoke-model resolution every caller uses (:func:`base_model_path`)."""

from __future__ import annotations

from repro.encoders.base import TRUNCATION_DEFAULT
from repro.errors import ModelNotAvailable


def base_model_path(model: str, data_root=None):
    """A local folder for ``model``: a hub id or folder (:func:`repro.weights.resolve_model`), or ``smoke-bert``
    (the tiny random BERT built from the data root, :mod:`repro.smoke`)."""
    from repro.weights import SMOKE_BERT, resolve_model

    if model == SMOKE_BERT:
        from repro.smoke import smoke_bert_path

        return smoke_bert_path(data_root)
    return resolve_model(model)


def build_encoder(row, data_root=None, device: str | None = None, dtype: str = "fp32"):
    """The encoder of ``row`` (a :class:`repro.specs.Row`; duck-typed: kind, model, pooling, layer,
    max_seq_length, truncation, not_run)."""
    if row.kind == "python":  # an object handed to repro.evaluate, kept in this process (never pickled)
        from repro.encoders.inprocess import lookup

        return lookup(row.model)
    if row.kind == "unavailable":
        raise ModelNotAvailable(f"{row.model}: {getattr(row, 'not_run', None) or 'not available in this suite'}")
    if row.kind == "infersent":  # the release files from the data root, or a not-run reason saying how to get them
        from repro.encoders.infersent import load_infersent

        return load_infersent(data_root, device=device or "cpu")
    if row.kind == "use":  # TensorFlow Hub (the optional extra `use`); the model is a handle or a SavedModel folder
        from repro.encoders.use import load_use

        return load_use(row.model, name=row.model, device=device)
    if row.kind == "wordvec":
        from repro.encoders.wordvec import AverageWordEmbeddings

        return AverageWordEmbeddings.load(row.model, data_root=data_root)
    if row.kind == "transformer":
        from repro.encoders.transformer import SentenceEncoder

        model = base_model_path(row.model, data_root) if row.model == "smoke-bert" else row.model
        return SentenceEncoder(model, pooling=row.pooling, layer=row.layer, max_seq_length=row.max_seq_length,
                               truncation=getattr(row, "truncation", TRUNCATION_DEFAULT), device=device, dtype=dtype,
                               name=row.model)
    raise ValueError(f"unknown model kind {row.kind!r}")
