"""Speed: Table 7, the "65 hours vs 5 seconds" claim, and the fast inference path.

- :mod:`repro.encoders.fast`: the fast, faithful encode path behind ``SentenceEncoder.encode(fast=True)``
  (tokenising ahead, token-budget batches sorted by token count, a fused inference-only BERT stack, bf16 matrix
  products with an fp32 residual stream).
- :mod:`repro.speed.timing`: warm-up + interleaved, repeated timing; what hardware and versions produced a number.
- :mod:`repro.speed.timed_models`: the SBERT-base (bert-base-uncased shape) model used for speed, with real weights when
  they resolve, else random weights (speed does not depend on weight values).
- :mod:`repro.speed.search`: the most-similar pair among n sentences (blocked cosine matrix + argmax).
- :mod:`repro.speed.cross`: BERT cross-encoder pair throughput and the extrapolated time for all n(n-1)/2 pairs.
- :mod:`repro.speed.bench`: the benchmark suite behind ``sbert-repro bench`` and the Table 7 pipeline.
"""
