"""`sbert-repro train`: one run from the command line on the smoke BERT; bad settings exit 2 before training."""

from __future__ import annotations

import pytest

from repro.cli import main


def test_train_command_runs_and_resumes(smoke_bert, data_root, tmp_path, capsys):
    args = ["train", "--model", str(smoke_bert), "--data", "stsb-train", "--max-steps", "3", "--train-limit", "48",
            "--data-root", str(data_root), "--runs-dir", str(tmp_path), "--no-progress", "--test"]
    assert main(args) == 0
    out = capsys.readouterr().out
    assert "training on 48 examples" in out and "STSb dev Spearman" in out and "STSb test Spearman" in out
    (run_dir,) = [p for p in tmp_path.iterdir() if p.is_dir()]
    assert (run_dir / "best" / "model.safetensors").is_file() and (run_dir / "log.json").is_file()
    assert main(args) == 0  # finished: reused, not trained again
    assert "finished run reused" in capsys.readouterr().out


def test_train_command_rejects_bad_settings_before_loading(tmp_path, capsys):
    base = ["train", "--model", "no-such-model", "--runs-dir", str(tmp_path)]
    with pytest.raises(SystemExit) as e:  # --pooling is a shared option with its choices: argparse refuses it
        main([*base, "--data", "stsb-train", "--pooling", "avg"])
    assert e.value.code == 2 and "--pooling: invalid choice: 'avg' (choose from mean, max, cls)" in \
        capsys.readouterr().err.replace("'mean', 'max', 'cls'", "mean, max, cls")
    assert main([*base, "--data", "nli", "--concat", "(u)"]) == 2
    assert "unknown concatenation '(u)'; allowed: (u, v); (|u-v|); (u*v)" in capsys.readouterr().err
    assert main([*base, "--data", "wiki"]) == 2
    assert "unknown training data 'wiki'; allowed: stsb-train, nli" in capsys.readouterr().err
    assert main([*base, "--data", "stsb-train", "--kind", "cross", "--objective", "triplet"]) == 2
    assert "objective 'triplet' does not train a cross model on data 'stsb-train'" in capsys.readouterr().err
    assert not any(tmp_path.iterdir())
