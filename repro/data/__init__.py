"""Datasets: typed records and loaders that read the released files exactly as they are."""

from repro.data.records import PairSet, SentencePair, STSTask  # noqa: F401
