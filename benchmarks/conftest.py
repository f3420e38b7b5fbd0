"""pytest-benchmark cases for Table 7 (run: ``tox -e bench``; full sizes: ``tox -e bench -- --full``).

Short version (CI): small slices of the STS benchmark sentences, seconds per case on 2 cores. ``--full``: all
15,487 sentences, 10,000 for the most-similar-pair search, more pairs and rounds. Every case records sentences
(or pairs) per second, batch size, dtype, hardware and versions in pytest-benchmark's ``extra_info``; the JSON
goes to ``.benchmarks/bench.json``. Cases run on CPU (2 threads) and, when one is visible, on the GPU too.

The numbers that go into Table 7 come from ``sbert-repro bench`` (same code, interleaved rounds); these cases
are the regression guard CI runs, and they check faithfulness of the fast path on every run.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]


def pytest_addoption(parser):
    parser.addoption("--full", action="store_true", default=False,
                     help="full sizes: all 15,487 STSb sentences, 10,000 for the search (minutes per case)")
    parser.addoption("--bench-threads", type=int, default=2, help="CPU threads (default 2)")
    parser.addoption("--bench-device", action="append", default=None,
                     help="device(s) to run on (default: cpu, plus cuda when available)")


def pytest_configure(config):
    """pytest-benchmark writes --benchmark-json at the end without creating its folder: create it now."""
    path = getattr(config.option, "benchmark_json", None)
    if path:
        Path(os.fspath(path)).expanduser().parent.mkdir(parents=True, exist_ok=True)


def _data_root() -> Path | None:
    for c in (os.environ.get("SBERT_REPRO_DATA"), REPO.parent / "shared" / "data"):
        if c and (Path(c) / "stsb" / "sts-test.csv").is_file():
            return Path(c).resolve()
    return None


def pytest_generate_tests(metafunc):
    if "device" in metafunc.fixturenames:
        devices = metafunc.config.getoption("--bench-device")
        if not devices:
            import torch

            devices = ["cpu"] + (["cuda"] if torch.cuda.is_available() else [])
        metafunc.parametrize("device", devices, scope="session")


@pytest.fixture(scope="session")
def settings(request):
    from repro.speed.presets import preset

    return preset("full" if request.config.getoption("--full") else "short")


@pytest.fixture(scope="session", autouse=True)
def _threads(request):
    import torch

    os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
    old = torch.get_num_threads()
    torch.set_num_threads(request.config.getoption("--bench-threads"))
    yield
    torch.set_num_threads(old)


@pytest.fixture(scope="session")
def data_root():
    root = _data_root()
    if root is None:
        pytest.skip("data root not found: set SBERT_REPRO_DATA (CI uses ../shared/data)")
    return root


@pytest.fixture(scope="session")
def all_sentences(data_root):
    from repro.speed.bench import stsb_sentences

    return stsb_sentences(data_root)


@pytest.fixture(scope="session")
def sentences(all_sentences, settings):
    from repro.speed.bench import sample

    return sample(all_sentences, settings.n_sentences, settings.seed)


@pytest.fixture(scope="session")
def model(settings, data_root):
    from repro.errors import ModelNotAvailable
    from repro.speed.timed_models import speed_model

    try:
        return speed_model(settings.model, settings.weights, data_root=data_root)
    except ModelNotAvailable as e:
        pytest.skip(str(e))


@pytest.fixture(scope="session")
def encoders():
    return {}


@pytest.fixture
def encoder(model, device, encoders):
    from repro.speed.timed_models import load_encoder

    if device not in encoders:
        encoders[device] = load_encoder(model, device)
    return encoders[device]


@pytest.fixture
def peer(model, device, encoders):
    pytest.importorskip("sentence_transformers", reason="the peer needs sentence-transformers ([peer] extra)")
    from repro.speed.timed_models import load_peer

    key = f"peer-{device}"
    if key not in encoders:
        encoders[key] = load_peer(model, device)
    return encoders[key]


@pytest.fixture
def record(benchmark, device, settings, model):
    """Fill pytest-benchmark's extra_info with what the number depends on."""
    from repro.speed.timing import environment, hardware_label

    env = environment(device)

    def _record(**info):
        benchmark.extra_info.update(hardware=hardware_label(env), device=device, preset=settings.name,
                                    model=model.label, torch_threads=env["torch_threads"],
                                    versions=env["versions"], **info)
        if "gpu" in env:
            benchmark.extra_info["gpu"] = env["gpu"]

    return _record
