"""Averaged GloVe vectors, the BERT cross-encoder's pairs per second, and the most similar pair end to end."""

from __future__ import annotations

import pytest


def test_avg_glove(benchmark, sentences, settings, data_root):
    from repro.encoders.wordvec import AverageWordEmbeddings
    from repro.errors import ModelNotAvailable
    from repro.speed.timing import environment, hardware_label

    try:
        glove = AverageWordEmbeddings.load(settings.glove or "glove-6B-50d", data_root=data_root)
    except ModelNotAvailable as e:
        pytest.skip(str(e))
    benchmark.pedantic(glove.encode, args=(sentences,), rounds=max(3, settings.repeats), iterations=1,
                       warmup_rounds=1)
    env = environment("cpu")
    benchmark.extra_info.update(case="glove", model=glove.name, n=len(sentences), hardware=hardware_label(env),
                                sentences_per_second=len(sentences) / benchmark.stats.stats.median,
                                versions=env["versions"])


@pytest.mark.parametrize("how", ["plain", "fast"])
def test_cross_encoder_pairs(benchmark, encoder, all_sentences, settings, record, device, how):
    """A BERT-base cross-encoder on sampled pairs of 10,000 sentences; extrapolated to all 49,995,000 pairs."""
    from repro.speed.cross import CrossEncoder, hours_for_all_pairs, sample_pairs

    k = (settings.cross_pairs or {}).get(device.split(":")[0], 16)
    pairs = sample_pairs(all_sentences[:10_000], k, settings.seed)
    ce = CrossEncoder.from_encoder(encoder)
    fn = (lambda: ce.predict(pairs, batch_size=32)) if how == "plain" else (lambda: ce.predict_fast(pairs))
    benchmark.pedantic(fn, rounds=settings.repeats, iterations=1, warmup_rounds=1)
    pps = k / benchmark.stats.stats.median
    record(case=f"cross_{how}", pairs=k, pairs_per_second=pps, hours_all_pairs=hours_for_all_pairs(pps),
           batch_size=32 if how == "plain" else None, dtype="fp32" if how == "plain" else "default")


@pytest.mark.parametrize("how", ["plain", "fast"])
def test_most_similar_pair_end_to_end(benchmark, encoder, all_sentences, settings, record, device, how):
    """Text -> embeddings -> cosine matrix -> argmax over the first n STSb sentences (10,000 with --full)."""
    from repro.encoders.fast import fast_encode
    from repro.speed.search import end_to_end

    sents = all_sentences[: settings.e2e_n]
    enc = ((lambda s: encoder.encode(s, batch_size=32)) if how == "plain"
           else (lambda s: fast_encode(encoder, s, output="tensor")))
    out = benchmark.pedantic(end_to_end, args=(enc, sents), kwargs=dict(device=device),
                             rounds=settings.e2e_repeats, iterations=1, warmup_rounds=1 if how == "fast" else 0)
    record(case=f"e2e_{how}", n=len(sents), seconds=benchmark.stats.stats.median, pair=out["pair"],
           encode_s=out["encode_s"], search_s=out["search_s"])
