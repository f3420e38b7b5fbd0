"""Speed measurement: what Table 7 and the "65 hours vs 5 seconds" claim are measured with, and the fast path.

Measurement only: Table 7's task (:mod:`repro.tasks.speed`, run by the one runner) turns a measurement into
records, its declaration (``repro/specs/table7.py``) holds the table's facts.

- :mod:`repro.encoders.fast`: the fast, faithful encode path behind ``SentenceEncoder.encode(fast=True)``
  (tokenising ahead, token-budget batches sorted by token count, a fused inference-only BERT stack, bf16 matrix
  products with an fp32 residual stream).
- :mod:`repro.speed.timing`: warm-up + interleaved, repeated timing; what hardware and versions produced a number.
- :mod:`repro.speed.timed_models`: the SBERT-base (bert-base-uncased shape) model used for speed, with real weights when
  they resolve, else random weights (speed does not depend on weight values).
- :mod:`repro.speed.search`: the most-similar pair among n sentences (blocked cosine matrix + argmax).
- :mod:`repro.speed.cross`: BERT cross-encoder pair throughput and the extrapolated time for all n(n-1)/2 pairs.
- :mod:`repro.speed.presets`: how much to measure (presets per profile) and the names of what is measured (no torch).
- :mod:`repro.speed.bench`: the benchmark suite behind ``sbert-repro bench`` and Table 7's task, and its report.
- :mod:`repro.speed.command`: ``sbert-repro bench``: options -> settings -> the one runner (Table 7's records).
"""
