"""sbert-repro: reproduce and benchmark Sentence-BERT (Reimers & Gurevych, EMNLP 2019)."""

__version__ = "0.1.0"

from repro.errors import ReproError  # noqa: F401  (re-exported: the one exception users catch)


def evaluate(model, tables=None, **kwargs):
    """A model of your own through the paper's protocols that need no training (Tables 1, 3, 4, 5); a pandas
    DataFrame of its numbers beside the paper's. ``model``: a hub id, a folder, or any object with
    ``encode(list[str]) -> np.ndarray``. See :func:`repro.custom.evaluate`."""
    from repro.custom import evaluate as _evaluate

    return _evaluate(model, tables=tables, **kwargs)
