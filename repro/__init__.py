"""sbert-repro: reproduce and benchmark Sentence-BERT (Reimers & Gurevych, EMNLP 2019)."""

__version__ = "0.1.0"

from repro.errors import ReproError  # noqa: F401  (re-exported: the one exception users catch)
