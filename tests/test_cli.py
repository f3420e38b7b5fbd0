"""The command line: helpful --help, one-line errors naming the culprit."""

from __future__ import annotations

from pathlib import Path

import pytest

from repro.cli import build_parser, main


@pytest.mark.parametrize("cmd", ["reproduce", "tables", "evaluate", "models", "profiles", "data"])
def test_every_subcommand_has_help(cmd, capsys):
    with pytest.raises(SystemExit) as e:
        main([cmd, "--help"])
    assert e.value.code == 0
    assert len(capsys.readouterr().out) > 200


def test_top_level_help_lists_commands(capsys):
    build_parser().print_help()
    out = capsys.readouterr().out
    for cmd in ("reproduce", "tables", "evaluate", "models", "profiles"):
        assert cmd in out


def test_unknown_profile_lists_the_allowed_ones(capsys, tmp_path):
    rc = main(["reproduce", "--profile", "huge", "--results-dir", str(tmp_path)])
    err = capsys.readouterr().err
    assert rc == 2 and "unknown profile 'huge'" in err and "smoke, local, paper" in err


def test_unknown_table_is_named(capsys, tmp_path):
    rc = main(["reproduce", "--profile", "smoke", "--tables", "99", "--results-dir", str(tmp_path)])
    assert rc == 2 and "unknown table '99'" in capsys.readouterr().err


def test_missing_data_root_names_the_file(capsys, tmp_path):
    rc = main(["evaluate", "--model", "smoke-glove", "--kind", "wordvec", "--profile", "smoke",
               "--data-root", str(tmp_path / "empty"), "--results-dir", str(tmp_path / "r")])
    err = capsys.readouterr().err
    assert rc == 2 and "sts" in err.lower() and "Traceback" not in err


def test_bad_model_path_flag(capsys, tmp_path):
    rc = main(["reproduce", "--profile", "smoke", "--model-path", "no-equals-sign", "--results-dir", str(tmp_path)])
    assert rc == 2 and "expected ID=DIR" in capsys.readouterr().err


def test_tables_without_results_folder(capsys, tmp_path):
    rc = main(["tables", "--results-dir", str(tmp_path / "none")])
    assert rc == 2 and "no results folder" in capsys.readouterr().err


def test_every_table_is_declared_with_an_evaluator_that_loads():
    """Every table is a spec under repro/specs with an evaluator the runner can load (discovered, not listed)."""
    from repro.experiments.runner import load_evaluator
    from repro.specs import load_specs

    specs = load_specs()
    assert list(specs) == ["1", "2", "3", "4", "5", "6", "7"]
    for number, spec in specs.items():
        ev = load_evaluator(spec.evaluator)
        assert hasattr(ev, "run_table") or hasattr(ev, "evaluate"), number


def test_every_fetch_command_named_by_models_and_plan_exists():
    """`sbert-repro models` and `plan` never point at a fetch script or dataset name that does not exist."""
    import re
    import subprocess
    import sys

    from repro.data.manifest import DATASETS

    repo = Path(__file__).resolve().parents[1]
    text = ""
    for argv in (["models"], ["plan", "--profile", "paper"], ["plan", "--profile", "local"]):
        r = subprocess.run([sys.executable, "-m", "repro", *argv], capture_output=True, text=True, cwd=repo,
                           timeout=120)
        assert r.returncode == 0, r.stderr
        text += r.stdout
    scripts = set(re.findall(r"data_scripts/([a-z_]+\.py)", text))
    assert scripts and all((repo / "data_scripts" / s).is_file() for s in scripts), scripts
    for names in re.findall(r"fetch_data\.py ((?:[a-z0-9]+ )*[a-z0-9]+)(?: --|\b)", text):
        for name in names.split():
            assert name in DATASETS, f"fetch_data.py {name}: no such dataset"
