"""Anything that turns sentences into vectors.

The one protocol every evaluator uses is :class:`repro.encoders.base.Encoder`:
``encode(sentences: list[str], batch_size: int = 32) -> np.ndarray`` of shape (n, dim), float32, rows in input
order. SBERT models, raw transformer poolings, averaged word vectors and TF-IDF all plug into the same
evaluators through it.
"""

from repro.encoders.base import Encoder  # noqa: F401
