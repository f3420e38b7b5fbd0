"""The Universal Sentence Encoder rows (repro/encoders/use.py, kind ``use``), on small SavedModels the tests build
with USE's serving behaviour (a 1-d tf.string tensor in, float32 [n, 512] out): a TF2 callable (USE /4 and later)
and a TF1-Hub-style ``default`` signature returning ``{"default": ...}`` (the paper's USE-large/3).

TensorFlow is the optional extra ``sbert-repro[use]``: without it the tests that need it skip, saying so, except
under ``SBERT_REPRO_REQUIRE_TF=1`` (``tox -e use``, run by CI), where a missing TensorFlow fails them. The tests
without TensorFlow (the install hint, plan staying TensorFlow-free) run everywhere.
"""

from __future__ import annotations

import importlib.util
import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import numpy as np
import pytest

from repro.encoders.build import build_encoder
from repro.errors import BrokenModel, ConfigError, ModelNotAvailable
from repro.specs import Row

ROOT = Path(__file__).resolve().parents[1]
DIM, BUCKETS = 512, 1024
HAVE_TF = all(importlib.util.find_spec(m) is not None for m in ("tensorflow", "tensorflow_hub"))
SENTENCES = ["A man is playing a guitar.", "A woman is slicing an onion.", "Two dogs run on the beach.",
             "A MAN IS playing a GUITAR.", "The stock market fell sharply today.", "", "Kids play football."]


@pytest.fixture(scope="module")
def tf():
    if not HAVE_TF:
        if os.environ.get("SBERT_REPRO_REQUIRE_TF"):
            pytest.fail("SBERT_REPRO_REQUIRE_TF is set (tox -e use) but tensorflow / tensorflow_hub is not "
                        "installed: the USE tests must run here")
        pytest.skip("tensorflow not installed: the USE tests run in `tox -e use` (pip install -e '.[use]')")
    import tensorflow

    return tensorflow


@pytest.fixture
def sts_data(request) -> Path:
    """The data root; under SBERT_REPRO_REQUIRE_TF its absence fails (CI must run the Table 1 path, not skip it)."""
    try:
        return request.getfixturevalue("data_root")
    except pytest.skip.Exception:
        if os.environ.get("SBERT_REPRO_REQUIRE_TF"):
            pytest.fail("SBERT_REPRO_REQUIRE_TF is set but the data root is missing (set SBERT_REPRO_DATA)")
        raise


def _projection(seed: int) -> np.ndarray:
    return np.random.default_rng(seed).standard_normal((BUCKETS, DIM)).astype(np.float32)


def _build(tf, folder: Path, *, style: str = "tf2", seed: int = 0) -> Path:
    """A hashed bag of lower-cased words projected to 512-d and L2-normalised, saved as a SavedModel: ``tf2`` is
    callable (``model(strings)``), ``tf1`` has only a ``default`` signature with input ``text`` returning
    ``{"default": vectors}``."""

    def embed(proj, sentences):
        ids = tf.strings.to_hash_bucket_fast(tf.strings.split(tf.strings.lower(sentences)), BUCKETS)
        summed = tf.reduce_sum(tf.ragged.map_flat_values(tf.gather, proj, ids), axis=1)
        return tf.math.l2_normalize(summed, axis=1)

    spec = [tf.TensorSpec([None], tf.string)]
    if style == "tf2":
        class Model(tf.Module):
            def __init__(self):
                self.proj = tf.Variable(_projection(seed))

            @tf.function(input_signature=spec)
            def __call__(self, sentences):
                return embed(self.proj, sentences)

        tf.saved_model.save(Model(), str(folder))
    else:
        class Module(tf.Module):
            def __init__(self):
                self.proj = tf.Variable(_projection(seed))

            @tf.function(input_signature=[tf.TensorSpec([None], tf.string, name="text")])
            def default(self, text):
                return {"default": embed(self.proj, text)}

        m = Module()
        tf.saved_model.save(m, str(folder), signatures={"default": m.default})
    return folder


@pytest.fixture(scope="module")
def use_dir(tf, tmp_path_factory) -> Path:
    return _build(tf, tmp_path_factory.mktemp("use") / "tf2")


@pytest.fixture(scope="module")
def encoder(use_dir):
    return build_encoder(Row("USE (test)", str(use_dir), kind="use"))


def _cos(a, b):
    from repro.encoders.base import cosine_rows

    return cosine_rows(a, b)


def _expected(sentences, seed=0) -> np.ndarray:
    """The test model's vectors computed in numpy, independently of TensorFlow's graph (hashes from TF)."""
    import tensorflow as tf

    proj = _projection(seed)
    out = np.zeros((len(sentences), DIM), dtype=np.float64)
    for i, s in enumerate(sentences):
        words = s.lower().split()
        if words:
            ids = tf.strings.to_hash_bucket_fast(words, BUCKETS).numpy()
            out[i] = proj[ids].sum(axis=0)
    norm = np.linalg.norm(out, axis=1, keepdims=True)
    return out / np.maximum(norm, 1e-12)


# ------------------------------------------------------------------------------------ the encoder itself
def test_encode_shape_order_determinism_and_batching(encoder):
    v = encoder.encode(SENTENCES, batch_size=3)
    assert v.shape == (len(SENTENCES), DIM) and v.dtype == np.float32
    np.testing.assert_allclose(v, _expected(SENTENCES), atol=1e-5)  # input order, row by row
    rev = encoder.encode(SENTENCES[::-1], batch_size=3)
    np.testing.assert_array_equal(rev[::-1], v)  # order follows the input
    np.testing.assert_array_equal(encoder.encode(SENTENCES, batch_size=3), v)  # deterministic
    for bs in (1, 2, 100):
        np.testing.assert_allclose(encoder.encode(SENTENCES, batch_size=bs), v, atol=1e-6)
    assert encoder.encode([], batch_size=4).shape[0] == 0
    with pytest.raises(TypeError):
        encoder.encode("one string")


def test_cosine_behaves(encoder):
    v = encoder.encode(SENTENCES)
    np.testing.assert_allclose(_cos(v, v)[:5], 1.0, atol=1e-6)  # a sentence with itself
    same_words, other = _cos(v[[0]], v[[3]])[0], _cos(v[[0]], v[[4]])[0]
    assert same_words == pytest.approx(1.0, abs=1e-6) and abs(other) < 0.5  # the same words in other case vs unrelated
    assert _cos(v[[5]], v[[0]])[0] == 0.0  # the empty sentence has no direction: 0 against anything


def test_tf1_hub_default_signature_gives_the_same_vectors(tf, use_dir, encoder, tmp_path):
    """The paper's USE-large/3 is a TF1 Hub module (signature ``default``, dict output): the same weights served
    that way give the same vectors."""
    enc1 = build_encoder(Row("USE (tf1)", str(_build(tf, tmp_path / "tf1", style="tf1")), kind="use"))
    assert enc1.signature == "default" and encoder.signature == "__call__"
    np.testing.assert_allclose(enc1.encode(SENTENCES, batch_size=2), encoder.encode(SENTENCES), atol=1e-6)


def test_describe_and_fingerprint_tell_models_apart(tf, encoder, use_dir, tmp_path):
    d = encoder.describe()
    assert d["handle"] == str(use_dir) and d["kind"] == "use" and d["tensorflow"] == tf.__version__
    other = build_encoder(Row("USE (seed 1)", str(_build(tf, tmp_path / "s1", seed=1)), kind="use"))
    assert len(encoder.fingerprint()) == 64 and encoder.fingerprint() != other.fingerprint()
    assert encoder.fingerprint() == build_encoder(Row("again", str(use_dir), kind="use")).fingerprint()


def test_embedding_cache_reads_back_the_same_vectors(encoder, tmp_path):
    from repro.encoders.cache import cached

    first = cached(encoder, root=tmp_path)
    v = first.encode(SENTENCES)
    second = cached(encoder, root=tmp_path)
    np.testing.assert_array_equal(second.encode(SENTENCES), v)
    assert (first.misses, second.hits) == (1, 1)


# ------------------------------------------------------------------------------------ errors: one line each
def _one_line(err) -> str:
    msg = str(err.value)
    assert "\n" not in msg and msg
    return msg


def test_missing_folder_and_not_a_saved_model(tf, tmp_path):
    with pytest.raises(ModelNotAvailable) as e:
        build_encoder(Row("USE", str(tmp_path / "nope"), kind="use"))
    assert "no such folder" in _one_line(e)
    (tmp_path / "empty").mkdir()
    (tmp_path / "empty" / "config.json").write_text("{}")
    with pytest.raises(ModelNotAvailable) as e:
        build_encoder(Row("USE", str(tmp_path / "empty"), kind="use"))
    assert "saved_model.pb" in _one_line(e) and str(tmp_path / "empty") in str(e.value)
    (tmp_path / "file.pb").write_text("x")
    with pytest.raises(ModelNotAvailable) as e:
        build_encoder(Row("USE", str(tmp_path / "file.pb"), kind="use"))
    assert "is a file" in _one_line(e)


def test_damaged_saved_model_is_a_broken_model(tf, use_dir, tmp_path):
    import shutil

    bad = tmp_path / "bad"
    shutil.copytree(use_dir, bad)
    pb = bad / "saved_model.pb"
    pb.write_bytes(pb.read_bytes()[: pb.stat().st_size // 3])
    with pytest.raises(BrokenModel) as e:
        build_encoder(Row("USE", str(bad), kind="use"))
    assert "cannot be loaded" in _one_line(e) and "download it again" in str(e.value)


def test_missing_tensorflow_names_the_extra(tmp_path, monkeypatch):
    """Runs everywhere: with TensorFlow hidden (or absent), a USE row stops with one line saying what to install."""
    folder = tmp_path / "m"
    folder.mkdir()
    (folder / "saved_model.pb").write_bytes(b"")
    monkeypatch.setitem(sys.modules, "tensorflow", None)
    monkeypatch.setitem(sys.modules, "tensorflow_hub", None)
    with pytest.raises(ConfigError) as e:
        build_encoder(Row("USE", str(folder), kind="use"))
    assert "pip install -e '.[use]'" in _one_line(e)


# ------------------------------------------------------------------------------------ TF-Hub handles
def test_unreachable_handle_is_not_available_by_design(tf, tmp_path, monkeypatch):
    """Offline, a hub handle is 'not reachable' (ModelNotAvailable: listed, exit 0), with how to provide it. The
    host ``.invalid`` never resolves, so this holds online too."""
    from repro.errors import must_fix

    monkeypatch.setenv("TFHUB_CACHE_DIR", str(tmp_path / "hub"))
    handle = "https://tfhub.invalid/google/universal-sentence-encoder-large/3.tar.gz"
    with pytest.raises(ModelNotAvailable) as e:
        build_encoder(Row("USE", handle, kind="use"))
    msg = _one_line(e)
    assert "not reachable offline" in msg and f"--model-path {handle}=DIR" in msg and not must_fix(e.value)


def test_tfhub_handle_offline_message(tf, tmp_path, monkeypatch):
    """The paper's tfhub.dev handle, with the network failing as it does offline (resolve raises URLError)."""
    import urllib.error

    import tensorflow_hub as hub

    from repro.encoders.use import PAPER_HANDLE

    def offline(handle):
        raise urllib.error.URLError("[Errno -2] Name or service not known")

    monkeypatch.setattr(hub, "resolve", offline)
    with pytest.raises(ModelNotAvailable) as e:
        build_encoder(Row("USE", PAPER_HANDLE, kind="use"))
    assert "not reachable offline" in _one_line(e) and "Name or service not known" in str(e.value)


def test_handle_from_tfhub_cache_and_from_model_path(tf, use_dir, tmp_path, monkeypatch):
    """A handle already in TF-Hub's cache loads without the network (the folder plan looks for), and
    ``--model-path HANDLE=DIR`` points the paper profile's row at a local folder."""
    import shutil

    from repro.encoders.use import PAPER_HANDLE, handle_problem, hub_cache_folder
    from repro.specs.table1 import USE_HUB
    from repro.weights import set_model_path

    monkeypatch.setenv("TFHUB_CACHE_DIR", str(tmp_path / "hub"))
    assert "not in TF-Hub's cache" in handle_problem(PAPER_HANDLE)
    shutil.copytree(use_dir, hub_cache_folder(PAPER_HANDLE))
    assert handle_problem(PAPER_HANDLE) is None
    cached_enc = build_encoder(USE_HUB)
    assert cached_enc.path == hub_cache_folder(PAPER_HANDLE) and cached_enc.describe()["handle"] == PAPER_HANDLE

    monkeypatch.setenv("TFHUB_CACHE_DIR", str(tmp_path / "empty-cache"))
    set_model_path(PAPER_HANDLE, use_dir)
    assert handle_problem(PAPER_HANDLE) is None
    enc = build_encoder(USE_HUB)
    assert enc.path == use_dir.resolve() and enc.name == PAPER_HANDLE
    np.testing.assert_array_equal(enc.encode(SENTENCES), cached_enc.encode(SENTENCES))


# ------------------------------------------------------------------------------------ through the tables
def test_table1_and_table5_run_a_use_row(tf, use_dir, sts_data, tmp_path, monkeypatch):
    """Table 1's STS task and Table 5's SentEval task through the runner (smoke profile: a data slice), then the
    table built from the records."""
    from repro.cli import main
    from repro.profiles import get_profile
    from repro.results import ResultStore
    from repro.runner import run_table
    from repro.specs import get_spec

    monkeypatch.setenv("SBERT_REPRO_CACHE", str(tmp_path / "cache"))
    row = Row("Universal Sentence Encoder (test SavedModel)", str(use_dir), kind="use",
              paper_row="Universal Sentence Encoder")
    smoke = get_profile("smoke")
    store = ResultStore(tmp_path / "res")
    rec1 = run_table(get_spec("1"), smoke, store, data_root=sts_data, rows=[row], echo=lambda m: None,
                     progress=False)
    assert [r.status for r in rec1] == ["ok"], rec1[0].reason
    metrics = rec1[0].metrics
    assert set(get_spec("1").columns) - {"Avg"} <= set(metrics)
    main_metric = get_spec("1").metric
    assert all(-100 <= m[main_metric] <= 100 for m in metrics.values())
    # word overlap tracks STS: pairs scored against the wrong gold (order lost) would average about 0
    assert np.mean([m[main_metric] for m in metrics.values()]) > 10
    assert rec1[0].details["encoder"]["kind"] == "use" and rec1[0].spec.param_dict["kind"] == "use"
    assert json.loads(store.path_for(rec1[0].spec).read_text())["status"] == "ok"

    five = smoke.with_table("5", tasks=("MR",))
    rec5 = run_table(get_spec("5"), five, store, data_root=sts_data, rows=[row], echo=lambda m: None,
                     progress=False)
    assert [r.status for r in rec5] == ["ok"] and 0 < rec5[0].metrics["MR"]["acc"] <= 100

    assert main(["tables", "--profile", "smoke", "--tables", "1", "--results-dir", str(tmp_path / "res"),
                 "--tables-dir", str(tmp_path / "tab")]) == 0
    csv = (tmp_path / "tab" / "smoke" / "table1_sts_unsupervised.csv").read_text()
    assert "Universal Sentence Encoder (test SavedModel)" in csv


# ------------------------------------------------------------------------------------ Table 7: its speed
def _table7_use(tmp_path, data_root, handle):
    """The paper profile's Table 7 encode section with the smoke preset's tiny sizes and ``handle`` as its USE."""
    from repro.profiles import get_profile
    from repro.results import ResultStore
    from repro.runner import run_table
    from repro.specs import get_spec

    paper = get_profile("paper").with_table("7", preset="smoke", use=str(handle), sections=("encode",),
                                            n_sentences=24, repeats=2, warmup_sentences=4, peer=False,
                                            infersent=False, retries=0)
    store = ResultStore(tmp_path / "res")
    recs = run_table(get_spec("7"), paper, store, data_root=data_root, device="cpu", echo=lambda m: None,
                     progress=False, report_dir=tmp_path / "report")
    return {r.label: r for r in recs}, store


def test_table7_times_the_use_row(tf, use_dir, sts_data, tmp_path, monkeypatch):
    """The paper profile's Table 7 USE unit: sentences/s of the SavedModel on the same sentences, in the same
    interleaved rounds as SBERT, its ratio to smart batching, filed as the paper's USE row (C10b's rival)."""
    from repro.specs import get_spec
    from repro.tables.evidence import check_claims

    monkeypatch.setenv("SBERT_REPRO_CACHE", str(tmp_path / "cache"))
    by_row, store = _table7_use(tmp_path, sts_data, use_dir)
    use, smart = by_row["Universal Sentence Encoder"], by_row["SBERT-base - smart batching"]
    assert use.status == "ok", use.reason
    assert use.metrics["CPU"]["value"] > 0 and use.spec.task == "speed-encode"
    assert use.spec.param_dict["case"] == "use" and use.spec.model.startswith("tf2 (SavedModel) on ")
    case = use.details["case"]
    assert len(case["seconds"]) == len(smart.details["case"]["seconds"]) == 2  # the same rounds
    assert case["per_second"] == pytest.approx(use.details["n"] / case["median_s"], rel=1e-6)
    assert use.details["n"] == smart.details["n"] == 24  # the same sentences
    assert use.metrics["vs smart batching"]["value"] == pytest.approx(
        use.metrics["CPU"]["value"] / smart.metrics["CPU"]["value"])
    assert "CPU vs peer" not in use.metrics
    timed = use.details["model"]["use"]
    # TensorFlow's threads: the suite's 2 where TensorFlow starts in the timing, else (it ran before in this process,
    # as here) its own, recorded as None
    assert timed["kind"] == "use" and timed["threads"] in (2, None) and "threads" in timed
    md = (tmp_path / "report" / "table7_bench_smoke_cpu.md").read_text()
    assert any(line.startswith("| use | ") for line in md.splitlines())  # the bench report lists it too
    t7 = get_spec("7")
    assert t7.row_of(use).label == "Universal Sentence Encoder" and t7.row_of(use).opt("case") == "use"
    (c10b,) = [c for c in check_claims(store.load(table="7"), {"7": t7}) if c.id == "C10b"]
    assert "GPU" in c10b.reason  # on the CPU the claim (a GPU statement) has no cell: it says which


def test_table7_holds_a_fresh_tensorflow_to_the_suite_s_threads(tf, use_dir):
    """In a process where TensorFlow has not run yet, the timed USE uses the speed suite's CPU threads."""
    r = _python(f"""
        from repro.speed.bench import load_timed_use
        import tensorflow as tf
        use = load_timed_use({str(use_dir)!r}, "cpu", 3)
        assert use.threads == 3 == tf.config.threading.get_intra_op_parallelism_threads(), use.threads
        assert tf.config.threading.get_inter_op_parallelism_threads() == 1
        assert use.encode(["a b", "c"], batch_size=32).shape == (2, 512)
    """)
    assert r.returncode == 0, r.stderr[-2000:]


def test_table7_use_row_without_tensorflow_says_what_to_install(sts_data, tmp_path, monkeypatch):
    """Where TensorFlow is missing, the USE unit's record is not run and names the extra; SBERT's rows are timed."""
    from repro.encoders import use as use_mod

    def missing():
        raise ConfigError(f"the Universal Sentence Encoder needs TensorFlow and TensorFlow Hub (tensorflow is not "
                          f"installed); install the extra: {use_mod.INSTALL}")

    monkeypatch.setattr(use_mod, "import_tensorflow", missing)
    monkeypatch.setenv("SBERT_REPRO_CACHE", str(tmp_path / "cache"))
    by_row, _ = _table7_use(tmp_path, sts_data, tmp_path / "no-such-use")
    use = by_row["Universal Sentence Encoder"]
    assert use.status == "not_run" and "pip install -e '.[use]'" in use.reason
    assert by_row["SBERT-base - smart batching"].status == "ok"


# ------------------------------------------------------------------------------------ declarations and plan
def _python(code: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-c", textwrap.dedent(code)], cwd=ROOT, capture_output=True, text=True,
                          timeout=300, env={**os.environ, "TFHUB_CACHE_DIR": "/nonexistent-tfhub-cache"})


def test_paper_profile_plans_the_use_rows_without_importing_tensorflow():
    """The paper profile's USE rows are kind ``use`` on the paper's handle (Table 1: one record, Table 5: one per
    task); the local and smoke profiles keep theirs unavailable; plan imports no TensorFlow."""
    r = _python("""
        import json, sys
        from repro.cli import main
        main(["plan", "--profile", "paper", "--tables", "1,5,7", "--json", "--results-dir", "no-results"])
        assert "tensorflow" not in sys.modules, "plan imported tensorflow"
    """)
    assert r.returncode == 0, r.stderr[-2000:]
    units = [u for u in json.loads(r.stdout)["units"] if u["row"] == "Universal Sentence Encoder"]
    by_table = {t: [u for u in units if u["table"] == t] for t in ("1", "5", "7")}
    from repro.encoders.use import PAPER_HANDLE

    assert len(by_table["1"]) == 1 and len(by_table["5"]) == 7
    for u in by_table["1"] + by_table["5"]:
        assert u["model"] == PAPER_HANDLE and u["status"] == "needs weights", u
        assert ("pip install -e '.[use]'" in u["why"]) != HAVE_TF, u["why"]
    (t7,) = by_table["7"]  # timed in the encode section's rounds: needs TensorFlow and the handle, like the others
    assert t7["id"] == "t7-paper-encode-use" and t7["status"] in ("needs weights", "needs data"), t7
    if t7["status"] == "needs weights":
        assert PAPER_HANDLE in t7["why"] and ("pip install -e '.[use]'" in t7["why"]) != HAVE_TF, t7["why"]

    from repro.profiles import get_profile
    from repro.specs import get_spec

    for name in ("local", "smoke"):
        kinds = {r.kind for n in ("1", "5") for r in get_spec(n).rows_for(get_profile(name))}
        assert "use" not in kinds
