"""The paper's protocols as the paper profile's defaults, each alternative a named option written into the record:
Table 5's classifier, the BERT baselines' bert-as-service token limit, BERT-AFS's SigmoidBERT head, and the plan's
``protocol`` of each unit."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from repro.errors import ConfigError
from repro.profiles import get_profile
from repro.specs import get_spec
from repro.training import settings as S
from repro.training.stage import Stage


# ------------------------------------------------------------------------------------------------ Table 5
def test_table5_classifier_knob_per_profile_and_in_the_record():
    from repro.evaluation import senteval as ev
    from repro.specs import table5
    from repro.tasks.senteval import log_reg_config

    spec = get_spec("5")
    paper, local, smoke = (spec.knobs(get_profile(p)) for p in ("paper", "local", "smoke"))
    assert (paper["classifier"], local["classifier"], smoke["classifier"]) == ("pytorch", "sklearn", "sklearn")
    assert table5.CLASSIFIERS == ev.CLASSIFIERS
    for knob, name in table5.CLASSIFIERS.items():
        assert log_reg_config({**local, "classifier": knob}).name == name
    assert log_reg_config({k: v for k, v in local.items() if k != "classifier"}).name == "sklearn-LogReg"
    with pytest.raises(ConfigError, match="Table 5 classifier"):
        log_reg_config({**local, "classifier": "svm"})
    row = spec.rows_for(get_profile("paper"))[0]
    p = spec.run_spec(spec, row, get_profile("paper"), "MR").param_dict
    assert p["classifier"] == "pytorch-MLP-nhid0-adam-bs64" and p["solver"] is None
    row = spec.rows_for(get_profile("local"))[0]
    p = spec.run_spec(spec, row, get_profile("local"), "MR").param_dict
    assert p["classifier"] == "sklearn-LogReg" and p["solver"] == "liblinear"


def test_evaluate_task_runs_either_classifier_and_names_it(data_root):
    from repro.data.senteval import load_senteval_task
    from repro.evaluation import senteval as sk
    from repro.evaluation.senteval_pytorch import GRID_TORCH, TorchLogRegConfig

    trec = load_senteval_task("TREC", root=data_root).head(20)
    rng = np.random.default_rng(0)
    vecs = {s: rng.standard_normal(16) for s in trec.sentences()}
    a = sk.evaluate_task(vecs, trec, sk.LogRegConfig(kfold=3))
    b = sk.evaluate_task(vecs, trec, TorchLogRegConfig(kfold=3, max_epoch=4))
    assert (a["classifier"], b["classifier"]) == ("sklearn-LogReg", "pytorch-MLP-nhid0-adam-bs64")
    assert a.keys() == b.keys() and b["C"] in GRID_TORCH and a["C"] in sk.GRID_KFOLD


# ------------------------------------------------------------------------------------------ BERT baselines
BASELINES = ("Avg. BERT embeddings", "BERT CLS-vector")


@pytest.mark.parametrize("table", ["1", "5"])
def test_bert_baselines_truncate_at_25_in_the_paper_profile_only(table):
    from repro.specs.table1 import BERT_AS_SERVICE_MAX_SEQ_LEN

    spec = get_spec(table)
    for name, want in (("paper", BERT_AS_SERVICE_MAX_SEQ_LEN), ("local", None)):
        rows = [r for r in spec.rows_for(get_profile(name)) if r.paper_row in BASELINES]
        assert len(rows) == 2 and {r.max_seq_length for r in rows} == {want}
        assert {r.layer for r in rows} == {-2} and {r.pooling for r in rows} == {"mean", "cls"}
        args = ("MR",) if table == "5" else ()
        assert {spec.run_spec(spec, r, get_profile(name), *args).param_dict["max_seq_length"] for r in rows} == {want}
    assert BERT_AS_SERVICE_MAX_SEQ_LEN == 25


def test_max_seq_length_counts_cls_and_sep_as_bert_as_service(smoke_bert):
    """bert-as-service's max_seq_len 25 keeps 23 word pieces and adds [CLS] and [SEP]
    (server/bert/extract_features.py); our encoder's max_seq_length=25 gives the same ids."""
    from repro.encoders.transformer import SentenceEncoder

    enc = SentenceEncoder(smoke_bert, pooling="mean", layer=-2, max_seq_length=25, device="cpu")
    tok = enc.tokenizer
    sentence = " ".join(["the man plays a guitar"] * 10)
    pieces = tok.tokenize(sentence)
    assert len(pieces) > 23
    theirs = [tok.cls_token_id] + tok.convert_tokens_to_ids(pieces[:25 - 2]) + [tok.sep_token_id]
    assert enc.tokenize([sentence])["input_ids"][0].tolist() == theirs
    short = "a man"
    plain = tok.encode(short, add_special_tokens=False)
    assert enc.tokenize([short])["input_ids"][0].tolist() == [tok.cls_token_id, *plain, tok.sep_token_id]


# ------------------------------------------------------------------------------------------ BERT-AFS head
def _afs_stage(head=S.CROSS_HEAD, kind="cross", **kw):
    fold = {"setting": "cross-topic", "fold": "test=DP", "kfold": None, "fold_seed": None, "limit": None}
    return Stage(kind=kind, objective="regression", data="afs", base="smoke-bert", head=head,
                 fold=tuple(fold.items()), eval_steps=0, keep="last", **kw)


def test_stage_names_its_head_only_when_not_the_default():
    plain = _afs_stage()
    assert "head" not in plain.to_dict() and plain.head == "pooler-mse"
    sig = _afs_stage("sigmoid-bce")
    assert sig.to_dict()["head"] == "sigmoid-bce" and sig.key != plain.key
    assert {k: v for k, v in sig.to_dict().items() if k != "head"} == plain.to_dict()
    with pytest.raises(ConfigError, match="cross-encoder head"):
        _afs_stage("softmax")
    with pytest.raises(ConfigError, match="one-output cross-encoder"):
        _afs_stage("sigmoid-bce", kind="sbert")


def test_table3_paper_profile_trains_sigmoid_bert_with_the_authors_seed():
    from repro.specs.table3 import cross_head

    spec = get_spec("3")
    for name, head, seed in (("paper", "sigmoid-bce", 2), ("local", "pooler-mse", 0), ("smoke", "pooler-mse", 0)):
        profile = get_profile(name)
        assert cross_head(spec.knobs(profile)) == head
        stages = [u.stage for u in spec.units(profile) if u.what == "train" and u.stage.kind == "cross"]
        assert stages and {s.head for s in stages} == {head} and {s.seed for s in stages} == {seed}
        assert all(("head" in s.to_dict()) == (head != S.CROSS_HEAD) for s in stages)
        evals = [u for u in spec.units(profile) if u.what == "evaluate" and u.row.kind == "cross"]
        assert evals and all(u.run.param_dict["training"].get("head", S.CROSS_HEAD) == head for u in evals)
    paper = spec.knobs(get_profile("paper"))["cross"]
    # the authors' train_misra.sh: 3 epochs, batch 32, lr 2e-5, 64 tokens, both orders, --seed 2
    from repro.specs.table3 import training_settings

    ts = training_settings(spec.knobs(get_profile("paper")), "cross")
    assert (ts["epochs"], ts["batch_size"], ts["lr"], ts["max_seq_length"], ts["symmetric"], ts["seed"]) == (
        3, 32, 2e-5, 64, True, 2) and paper["head"] == "sigmoid-bce"


def test_sigmoid_bert_head_is_a_linear_layer_on_the_raw_cls_with_bce(smoke_bert, tmp_path):
    from repro.training.cross_encoder import CrossEncoder
    from repro.training.data import PairExample

    torch.manual_seed(0)
    ce = CrossEncoder(smoke_bert, head="sigmoid-bce", device="cpu")
    assert getattr(ce.model, "pooler", None) is None and ce.linear.out_features == 1
    assert float(ce.linear.bias.detach().abs().max()) == 0.0
    batch = ce.collate([PairExample("a man", "a dog runs", 0.8), PairExample("x", "y", 0.2)])
    feats = {k: v for k, v in batch["pair"].items()}
    cls = ce.model(**feats).last_hidden_state[:, 0]
    prob = torch.sigmoid(ce.linear(cls)).squeeze(-1)
    want = torch.nn.BCELoss()(prob, torch.tensor([0.8, 0.2]))
    assert ce(batch).item() == pytest.approx(want.item(), abs=1e-6)
    pred = ce.similarity(["a man", "x"], ["a dog runs", "y"])
    assert np.allclose(pred, prob.detach().numpy(), atol=1e-6) and ((pred > 0) & (pred < 1)).all()
    assert ce.describe()["head"] == "sigmoid-bce"
    # export -> a new model from the folder predicts the same; a checkpoint loads back into a fresh one
    with torch.no_grad():
        ce.linear.weight.add_(0.5)
    before = ce.similarity(["a man", "x"], ["a dog runs", "y"])
    folder = ce.export(tmp_path / "m")
    again = CrossEncoder(folder, head="sigmoid-bce", device="cpu")
    assert np.allclose(again.similarity(["a man", "x"], ["a dog runs", "y"]), before, atol=1e-6)
    fresh = CrossEncoder(smoke_bert, head="sigmoid-bce", device="cpu")
    fresh.load_exported(folder)
    assert np.allclose(fresh.similarity(["a man", "x"], ["a dog runs", "y"]), before, atol=1e-6)
    with pytest.raises(ConfigError, match="one output"):
        CrossEncoder(smoke_bert, num_labels=3, head="sigmoid-bce", device="cpu")
    assert CrossEncoder(smoke_bert, device="cpu").linear is None  # pooler-mse: BertForSequenceClassification


def test_afs_stage_builds_and_reloads_the_head_it_names(smoke_bert, tmp_path):
    from repro.training.recipes import build_model, load_trained

    stage = _afs_stage("sigmoid-bce")
    model = build_model(stage, smoke_bert, device="cpu")
    assert model.head == "sigmoid-bce"
    folder = model.export(tmp_path / "kept")
    assert load_trained(stage, folder, device="cpu").head == "sigmoid-bce"
    assert build_model(_afs_stage(), smoke_bert, device="cpu").head == "pooler-mse"


# ------------------------------------------------------------------------------------------------ plan
def _plan(profile: str, tmp_path):
    from repro.plan import build_plan
    from repro.results import ResultStore

    return build_plan(get_profile(profile), ResultStore(tmp_path / profile), tables=["1", "2", "3", "5"])["units"]


def test_plan_shows_each_units_protocol(tmp_path):
    from repro.plan import MODEL_MAX_SEQ_LENGTH

    units = _plan("paper", tmp_path)
    t5 = [u for u in units if u["table"] == "5"]
    assert t5 and {u["protocol"]["classifier"] for u in t5} == {"pytorch-MLP-nhid0-adam-bs64"}
    for t in ("1", "5"):
        base = [u for u in units if u["table"] == t and u["row"] in BASELINES]
        assert base and {u["protocol"]["max_seq_length"] for u in base} == {25}
    released = [u for u in units if u["table"] == "1" and u["row"] == "SBERT-NLI-base"]
    assert released[0]["protocol"] == {"max_seq_length": MODEL_MAX_SEQ_LENGTH, "truncation": "pieces+2"}  # v0.2.3
    roberta = [u for u in units if u["table"] == "1" and u["row"] == "SRoBERTa-NLI-base"]  # v0.2.4+: not pieces+2
    assert roberta[0]["protocol"] == {"max_seq_length": MODEL_MAX_SEQ_LENGTH}
    t2_sbert = [u for u in units if u["table"] == "2" and u["what"] == "train" and u["training"]["kind"] == "sbert"]
    assert t2_sbert and all(u["protocol"] == {"eval_counting": "per-epoch", "truncation": "pieces+2"}
                            for u in t2_sbert)
    t2_scored = [u for u in units if u["table"] == "2" and u["what"] == "evaluate" and u["row"].startswith("SBERT")]
    assert t2_scored and all(u["protocol"]["truncation"] == "pieces+2" for u in t2_scored)
    afs = [u for u in units if u["table"] == "3" and (u["row"] or "").startswith("BERT-AFS")
           or u["what"] == "train" and u["training"].get("data") == "afs" and u["training"]["kind"] == "cross"]
    assert afs and {u["protocol"]["cross_head"] for u in afs} == {"sigmoid-bce"}
    t2 = [u for u in units if u["table"] == "2" and "cross_head" in u["protocol"]]
    assert t2 and {u["protocol"]["cross_head"] for u in t2} == {"pooler-mse"}
    sbert = [u for u in units if u["table"] == "3" and u["what"] == "evaluate" and (u["row"] or "").startswith("SBERT")]
    assert sbert and all(u["protocol"] == {} for u in sbert)

    local = _plan("local", tmp_path)
    assert {u["protocol"]["classifier"] for u in local if u["table"] == "5"} == {"sklearn-LogReg"}
    base = [u for u in local if u["table"] in ("1", "5") and u["row"] in BASELINES]
    assert base and {u["protocol"]["max_seq_length"] for u in base} == {MODEL_MAX_SEQ_LENGTH}
    assert {u["protocol"]["cross_head"] for u in local if "cross_head" in u["protocol"]} == {"pooler-mse"}
    released = [u for u in local if u["table"] == "1" and u["row"] == "SBERT-NLI-base"]
    assert released[0]["protocol"] == {"max_seq_length": MODEL_MAX_SEQ_LENGTH}
    t2_sbert = [u for u in local if u["table"] == "2" and u["what"] == "train" and u["training"]["kind"] == "sbert"]
    assert t2_sbert and all(u["protocol"] == {"eval_counting": "global", "truncation": "total"} for u in t2_sbert)


# ------------------------------------------------------- sentence-transformers v0.2.3: step counting, truncation
def test_paper_profile_trains_sbert_stages_as_v023_and_the_others_as_before():
    from repro.training.recipes import train_config
    from repro.training.stage import nli_stage, stsb_stage

    paper, local = get_profile("paper").training, get_profile("local").training
    nli = nli_stage(paper, "bert-base-uncased")
    stsb = stsb_stage(paper, nli)
    for st in (nli, stsb):
        assert (st.eval_counting, st.truncation) == ("per-epoch", "pieces+2")
        assert st.to_dict()["eval_counting"] == "per-epoch" and st.to_dict()["truncation"] == "pieces+2"
        assert train_config(st).eval_counting == "per-epoch"
    cross = stsb_stage(paper, "bert-base-uncased", kind="cross")  # the BERT cross-encoder: not v0.2.3's fit()
    assert (cross.eval_counting, cross.truncation) == (S.EVAL_COUNTING, S.TRUNCATION)
    for profile in ("local", "smoke"):
        st = stsb_stage(get_profile(profile).training, nli_stage(get_profile(profile).training, "b"))
        assert (st.eval_counting, st.truncation) == ("global", "total")
        # defaults stay out of the stage's identity: the stages of records written before these options keep it
        assert "eval_counting" not in st.to_dict() and "truncation" not in st.to_dict()
        assert "eval_counting" not in st.to_dict()["base"]
    assert stsb_stage(local, "b").key == Stage(kind="sbert", objective="regression", data="stsb-train", base="b",
                                               epochs=4, **{k: v for k, v in _local_common(local).items()}).key


def _local_common(training: dict) -> dict:
    return {"data_limit": None, "dev_limit": None, "max_steps": training["stsb_max_steps"],
            "eval_steps": training["eval_steps"], "checkpoint_steps": training["checkpoint_steps"],
            "batch_size": S.BATCH_SIZE, "amp": S.AMP, "select": S.SELECT_DEFAULT}


def test_v023_options_are_checked_when_the_stage_is_built():
    with pytest.raises(ConfigError, match="eval_counting.*allowed: global, per-epoch"):
        Stage(kind="sbert", objective="regression", data="stsb-train", base="b", eval_counting="epoch")
    with pytest.raises(ConfigError, match="truncation.*allowed: total, pieces\\+2"):
        Stage(kind="sbert", objective="regression", data="stsb-train", base="b", truncation="128")
    with pytest.raises(ConfigError, match="truncation 'pieces\\+2' is an SBERT encoder's"):
        Stage(kind="cross", objective="regression", data="stsb-train", base="b", truncation="pieces+2")


def test_pieces_plus_2_keeps_max_seq_length_word_pieces_then_cls_and_sep(smoke_bert, tmp_path):
    from transformers import AutoTokenizer, BertConfig, BertModel

    from repro.encoders.transformer import SentenceEncoder

    tok = AutoTokenizer.from_pretrained(str(smoke_bert))
    with pytest.raises(ConfigError, match="130 tokens in all with truncation 'pieces\\+2'.*128 positions"):
        SentenceEncoder(smoke_bert, truncation="pieces+2", device="cpu")  # the smoke BERT has 128 positions
    torch.manual_seed(0)  # the smoke BERT's vocabulary, 512 positions (as bert-base)
    body = BertModel(BertConfig(vocab_size=len(tok), hidden_size=32, num_hidden_layers=1, num_attention_heads=2,
                                intermediate_size=37, max_position_embeddings=512), add_pooling_layer=False)
    body.save_pretrained(str(tmp_path / "body"))
    tok.save_pretrained(str(tmp_path / "body"))
    total = SentenceEncoder(tmp_path / "body", device="cpu")
    v023 = SentenceEncoder(tmp_path / "body", truncation="pieces+2", device="cpu")
    word = next(w for w in ("the", "a", "and", "of") if len(tok.tokenize(w)) == 1)
    long = " ".join([word] * 200)
    assert len(tok.tokenize(long)) == 200
    assert (total.max_seq_length, v023.max_seq_length) == (S.MAX_SEQ_LENGTH, S.MAX_SEQ_LENGTH)
    ids_total, ids_v023 = (e.tokenize([long, "short one"])["input_ids"] for e in (total, v023))
    assert ids_total.shape[1] == 128 and ids_v023.shape[1] == 130
    row = ids_v023[0].tolist()
    assert row[0] == tok.cls_token_id and row[-1] == tok.sep_token_id and row[1:-1] == tok.convert_tokens_to_ids(
        tok.tokenize(long))[:128]
    v023.pretokenize([long, "short one"])  # the fast tokenizer's path gives the same tensors
    assert torch.equal(v023.tokenize([long, "short one"])["input_ids"], ids_v023)
    assert "truncation" not in total.describe() and v023.describe()["truncation"] == "pieces+2"
    # every encode path truncates alike; the saved folder says 130 tokens in all, loaded again as the same tokens
    ref = v023.encode([long, "short one"])
    assert not np.allclose(ref, total.encode([long, "short one"]))
    np.testing.assert_allclose(v023.encode([long, "short one"], fast=True, precision="fp32"), ref, atol=1e-5)
    v023.save(tmp_path / "m")
    again = SentenceEncoder(tmp_path / "m", device="cpu")
    assert (again.truncation, again.token_limit) == ("total", 130)
    np.testing.assert_allclose(again.encode([long, "short one"]), ref, atol=1e-6)
