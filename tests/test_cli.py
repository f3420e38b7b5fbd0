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
    """Every table is a spec under repro/specs with a task the runner can load (discovered, not listed)."""
    from repro.specs import load_specs
    from repro.tasks import get_task

    specs = load_specs()
    assert list(specs) == ["1", "2", "3", "4", "5", "6", "7"]
    for number, spec in specs.items():
        ev = get_task(spec.evaluator)
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
    for names in re.findall(r"(?:fetch_data\.py|sbert-repro data fetch) ((?:[a-z0-9]+ )*[a-z0-9]+)(?: --|\b)", text):
        for name in names.split():
            assert name in DATASETS, f"fetch {name}: no such dataset"


def test_seeds_flag_adds_seeds_to_the_seeded_tables_only(capsys, tmp_path):
    """`--seeds` sets Tables 2 and 6's seeds (the local profile runs one); other tables' units are unchanged."""
    import json

    from repro.profiles import get_profile, parse_seeds

    assert parse_seeds("0,1") == (0, 1) and parse_seeds("0-3") == (0, 1, 2, 3) and parse_seeds("2, 0,2") == (2, 0)
    local = get_profile("local")
    from repro.specs import get_spec, load_specs

    two = local.with_seeds((0, 1), load_specs())

    assert get_spec("2").knobs(local)["seeds"] == (0,) and get_spec("2").knobs(two)["seeds"] == (0, 1)
    assert get_spec("6").knobs(two)["seeds"] == (0, 1) and "seeds" not in get_spec("3").knobs(two)

    def units(*extra):
        assert main(["plan", "--profile", "local", "--results-dir", str(tmp_path), "--json", *extra]) == 0
        plan = json.loads(capsys.readouterr().out)
        return {t: [u for u in plan["units"] if u["table"] == t] for t in ("2", "3", "6")}

    one, both = units(), units("--seeds", "0,1")
    assert {u["seed"] for u in one["6"] if u["what"] == "evaluate"} == {0}
    assert {u["seed"] for u in both["6"] if u["what"] == "evaluate"} == {0, 1}
    assert len(both["2"]) > len(one["2"]) and [u["id"] for u in both["3"]] == [u["id"] for u in one["3"]]
    assert {u["id"] for u in one["6"]} <= {u["id"] for u in both["6"]}  # seed 0's units keep their ids


@pytest.mark.parametrize("bad", ["x", "0-", "1,-2", ""])
def test_bad_seeds_flag_is_one_line_naming_it(bad, capsys, tmp_path):
    rc = main(["plan", "--profile", "local", "--results-dir", str(tmp_path), "--seeds", bad])
    err = capsys.readouterr().err
    assert rc == 2 and "--seeds" in err and "e.g. --seeds 0,1" in err


def test_grid_units_carry_the_seeds_flag(tmp_path):
    from repro.executors.grid import unit_command

    argv = unit_command("t6-x", profile="local", results_dir=tmp_path, data_root=tmp_path, seeds="0,1")
    assert argv[argv.index("--seeds") + 1] == "0,1"
    assert "--seeds" not in unit_command("t6-x", profile="local", results_dir=tmp_path, data_root=tmp_path)


# ------------------------------------------------------------------------------- the parser and the application
def test_cli_is_only_a_parser():
    """cli.py parses and calls repro.app: it imports the standard library, repro.app, repro.errors and the executor
    registry at top level only, nothing inside a function, and names no executor (their flags come from the
    registry); neither does the application module."""
    import ast
    import sys

    from repro.executors import EXECUTORS, IN_PROCESS

    repo = Path(__file__).resolve().parents[1]
    src = (repo / "repro" / "cli.py").read_text()
    tree = ast.parse(src)
    allowed = {"repro", "repro.app", "repro.errors", "repro.executors"}
    for node in tree.body:
        if isinstance(node, (ast.Import, ast.ImportFrom)):
            mods = [a.name for a in node.names] if isinstance(node, ast.Import) else [node.module]
            for m in mods:
                assert m == "__future__" or m.split(".")[0] in sys.stdlib_module_names or m in allowed, m
            if isinstance(node, ast.ImportFrom) and node.module == "repro":
                assert {a.name for a in node.names} <= {"__version__", "app", "executors"}
    nested = [n for f in ast.walk(tree) if isinstance(f, (ast.FunctionDef, ast.Lambda)) for n in ast.walk(f)
              if isinstance(n, (ast.Import, ast.ImportFrom))]
    assert not nested, [ast.unparse(n) for n in nested]
    assert len(src.splitlines()) <= 300
    for module in ("cli", "app"):
        text = ast.parse((repo / "repro" / f"{module}.py").read_text())
        names = {n.value for n in ast.walk(text) if isinstance(n, ast.Constant) and isinstance(n.value, str)}
        assert not names & set(EXECUTORS), (module, names & set(EXECUTORS))
        compared = {c.value for n in ast.walk(text) if isinstance(n, ast.Compare) for c in (n.left, *n.comparators)
                    if isinstance(c, ast.Constant)}
        assert IN_PROCESS not in compared, module  # ("local" is also a profile's name: only compared it counts)
        attrs = {n.attr for n in ast.walk(text) if isinstance(n, ast.Attribute)}
        assert not attrs & {"workers", "gpus", "partition", "slurm_option", "log_dir"}, module


def test_readme_commands_parse():
    """Every `sbert-repro ...` line of the code blocks of README.md and docs/*.md, and their inline --executor
    examples, parse (the executors' flags stay as the docs write them; tests/test_docs.py checks every command)."""
    import re
    import shlex

    root = Path(__file__).resolve().parents[1]
    readme = "\n".join(p.read_text() for p in [root / "README.md", *sorted((root / "docs").glob("*.md"))])
    joined = readme.replace("\\\n", " ")
    commands = [ln.split("  #")[0] for ln in joined.splitlines() if ln.startswith("sbert-repro ")]
    commands += [f"sbert-repro reproduce {m}" for m in re.findall(r"`(--executor [^`]+)`", readme)
                 if not re.search(r"\b[A-Z]+\b", m)]  # not those with a placeholder (--workers N)
    assert len(commands) > 10 and any("--slurm-option" in c for c in commands)
    for cmd in commands:
        argv = shlex.split(cmd)[1:]
        if "--help" in argv:
            continue
        args = build_parser().parse_args(argv)
        assert args.fn is not None, cmd


@pytest.mark.parametrize("name", ["processes", "slurm"])
def test_every_executor_is_built_from_its_own_flags(name):
    from repro import executors

    args = build_parser().parse_args(["reproduce", "--executor", name, "--log-dir", "L", "--workers", "2",
                                      "--partition", "gpu", "--slurm-option", "account=nlp", "--mem-gb", "4"])
    ex = executors.from_args(args, echo=lambda s: None)
    assert isinstance(ex, executors.Executor) and type(ex) is executors.EXECUTORS[name] and ex.name == name
    if name == "processes":
        assert ex.workers == 2 and str(ex.log_dir) == "L"
    else:
        assert ex.params["slurm_partition"] == "gpu" and ex.params["mem_gb"] == 4 and ex.additional == {
            "account": "nlp"} and str(ex.log_dir) == "L"
    assert executors.from_args(build_parser().parse_args(["reproduce"])) is None  # local: in this process


def test_bad_slurm_option_is_one_line(capsys, tmp_path):
    rc = main(["reproduce", "--profile", "smoke", "--tables", "1", "--results-dir", str(tmp_path), "--executor",
               "slurm", "--slurm-option", "account"])
    assert rc == 2 and "expected KEY=VALUE" in capsys.readouterr().err


def test_app_is_callable_from_python(tmp_path, capsys):
    """The application functions take plain values: the plan of a profile, as JSON, without the parser."""
    import json

    from repro import app

    assert app.plan("smoke", tables=["1"], results_dir=tmp_path, as_json=True) == 0
    units = json.loads(capsys.readouterr().out)["units"]
    assert units and {u["table"] for u in units} == {"1"}
    with pytest.raises(app.ReproError, match="unknown table '99'"):
        app.plan("smoke", tables="99", results_dir=tmp_path)


# ------------------------------------------------------------------------------- one vocabulary of flags
def _leaves(parser=None, path=()):
    """(command path, parser) of every command that runs something (`data verify`, not `data`)."""
    import argparse

    parser = parser or build_parser()
    subs = [a for a in parser._actions if isinstance(a, argparse._SubParsersAction)]
    if not subs:
        yield path, parser
    for a in subs:
        for name, sp in a.choices.items():
            yield from _leaves(sp, (*path, name))


def test_every_command_takes_verbose_before_or_after_its_name():
    leaves = list(_leaves())
    assert {" ".join(p) for p, _ in leaves} >= {"reproduce", "tables", "plan", "run", "evaluate", "models",
                                                "profiles", "data verify", "data fetch", "records check", "train",
                                                "bench"}
    for path, sp in leaves:
        assert any("-v" in a.option_strings and "--verbose" in a.option_strings for a in sp._actions), path
    ap = build_parser()
    assert ap.parse_args(["profiles", "-vv"]).verbose == 2 and ap.parse_args(["-vv", "profiles"]).verbose == 2
    assert ap.parse_args(["data", "verify", "--verbose"]).verbose == 1
    assert not hasattr(ap.parse_args(["profiles"]), "verbose")  # main() reads it as 0


def test_plan_lists_units_with_v_given_anywhere(capsys, tmp_path):
    for argv in (["-v", "plan"], ["plan", "-v"], ["plan", "--verbose"]):
        assert main([*argv, "--profile", "smoke", "--tables", "1", "--results-dir", str(tmp_path)]) == 0
        assert "units:" in capsys.readouterr().out, argv
    assert main(["plan", "--profile", "smoke", "--tables", "1", "--results-dir", str(tmp_path)]) == 0
    assert "units:" not in capsys.readouterr().out


def test_a_flag_shared_by_commands_is_declared_once():
    """An option two commands take is one declaration (cli.OPTIONS): the same help and destination everywhere."""
    from repro.cli import OPTIONS

    seen: dict[str, set] = {}
    for path, sp in _leaves():
        for a in sp._actions:
            for flag in a.option_strings:
                seen.setdefault(flag, set()).add((a.dest, a.help, " ".join(path)))
    shared = {flag: v for flag, v in seen.items() if len({c for *_, c in v}) > 1 and flag not in ("-h", "--help")}
    assert {"--precision", "--kind", "--model", "--device", "--profile", "--data-root", "-v"} <= set(shared)
    declared = {f for flags, _ in OPTIONS.values() for f in flags}
    for flag, v in shared.items():
        assert len({(dest, help_) for dest, help_, _ in v}) == 1, (flag, sorted(c for *_, c in v))
        assert flag in declared or flag in ("--dtype", "--amp"), flag  # old spellings: hidden aliases


@pytest.mark.parametrize("cmd", [["evaluate", "--model", "m"], ["train", "--model", "m", "--data", "nli"],
                                 ["bench"]])
def test_one_precision_flag(cmd, capsys):
    from repro.app import PRECISIONS

    ap = build_parser()
    for value in PRECISIONS:
        assert ap.parse_args([*cmd, "--precision", value]).precision == value
    assert ap.parse_args(cmd).precision is None  # each command's own default (app / the command's module)
    with pytest.raises(SystemExit):
        ap.parse_args([*cmd, "--precision", "fp64"])
    assert "invalid choice" in capsys.readouterr().err


@pytest.mark.parametrize("old, cmd", [("--dtype", ["evaluate", "--model", "m"]),
                                      ("--amp", ["train", "--model", "m", "--data", "nli"])])
def test_old_precision_spellings_still_work_hidden_with_a_hint(old, cmd, capsys):
    args = build_parser().parse_args([*cmd, old, "bf16"])
    assert args.precision == "bf16"
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and old in err[0] and "--precision" in err[0]
    with pytest.raises(SystemExit):
        main([cmd[0], "--help"])
    out = capsys.readouterr().out
    assert "--precision" in out and old not in out.replace(f"{old} (", "")  # named in --precision's help only


def test_train_stage_reads_the_shared_flags():
    from repro.training.command import stage_from_args

    ap = build_parser()
    st = stage_from_args(ap.parse_args(["train", "--model", "m", "--data", "stsb-train", "--kind", "cross",
                                        "--precision", "bf16", "--pooling", "cls"]))
    assert (st.kind, st.amp, st.pooling) == ("cross", "bf16", "cls")
    st = stage_from_args(ap.parse_args(["train", "--model", "m", "--data", "nli"]))
    assert (st.kind, st.amp, st.pooling) == ("sbert", "fp32", "mean")


@pytest.mark.parametrize("argv, flag", [
    (["evaluate", "--model", "smoke-glove", "--kind", "wordvec", "--precision", "auto"], "--precision auto"),
    (["evaluate", "--model", "smoke-glove", "--kind", "cross"], "--kind cross"),
    (["train", "--model", "smoke-bert", "--data", "nli", "--kind", "wordvec"], "--kind"),
])
def test_a_value_a_command_does_not_take_is_one_line(argv, flag, capsys, tmp_path):
    rc = main([*argv, "--profile", "smoke", "--results-dir", str(tmp_path)] if argv[0] == "evaluate" else argv)
    err = capsys.readouterr().err
    assert rc == 2 and flag in err and "Traceback" not in err and len(err.strip().splitlines()) == 1, err


# ------------------------------------------------------------------------------- run, data verify, data fetch
def test_run_prints_the_units_metrics_and_its_record(data_root, tmp_path, capsys):
    import json

    assert main(["plan", "--profile", "smoke", "--tables", "1", "--results-dir", str(tmp_path), "--json"]) == 0
    unit = next(u for u in json.loads(capsys.readouterr().out)["units"] if u["model"] == "smoke-glove")
    argv = ["run", unit["id"], "--profile", "smoke", "--results-dir", str(tmp_path), "--data-root", str(data_root)]
    assert main(argv) == 0
    out = capsys.readouterr().out
    path = Path(out.split("record: ")[-1].split()[0])
    assert path.is_file() and json.loads(path.read_text())["id"] == unit["record"]
    record = json.loads(path.read_text())
    for column in ("STSb", "SICK-R"):
        assert f"{column} " in out and f"{record['metrics'][column]['spearman_all']:.2f}" in out
    assert main(argv) == 0  # reused, not rerun: the same lines
    again = capsys.readouterr().out
    assert f"record: {path}" in again and f"{record['metrics']['STSb']['spearman_all']:.2f}" in again


def _smoke_t1_root(data_root, root):
    import shutil

    for name in ("sts", "stsb", "sick"):
        shutil.copytree(data_root / name, root / name)
        for p in (root / name).rglob("*"):
            p.chmod(0o755 if p.is_dir() else 0o644)
    return root


def test_data_verify_checks_what_reproduce_needs_with_its_exit_status(data_root, tmp_path, capsys):
    root = _smoke_t1_root(data_root, tmp_path / "data")
    verify = ["data", "verify", "--profile", "smoke", "--tables", "1", "--data-root", str(root)]
    dry = ["reproduce", "--profile", "smoke", "--tables", "1", "--data-root", str(root), "--results-dir",
           str(tmp_path / "r"), "--dry-run"]
    assert main(verify) == 0 and main(dry) == 0
    out = capsys.readouterr().out
    assert "sts" in out and "stsb" in out and "sick" in out

    (root / "stsb" / "sts-test.csv").unlink()
    assert main(verify) == 3 and main(dry) == 3  # the same decision, from the same code
    out = capsys.readouterr().out
    line = next(ln for ln in out.splitlines() if ln.startswith("stsb:"))
    assert "sts-test.csv" in line and f"sbert-repro data fetch stsb --data-root {root}" in line

    _smoke_t1_root(data_root, tmp_path / "data2")
    (tmp_path / "data2" / "sick" / "SICK_test_annotated.txt").write_text("truncated")
    assert main(["data", "verify", "--profile", "smoke", "--tables", "1", "--data-root", str(tmp_path / "data2")]) \
        == 3
    line = next(ln for ln in capsys.readouterr().out.splitlines() if ln.startswith("sick:"))
    assert "SICK_test_annotated.txt" in line and "expected" in line and "sbert-repro data fetch sick" in line


def test_data_verify_of_named_datasets_and_unknown_name(data_root, tmp_path, capsys):
    root = _smoke_t1_root(data_root, tmp_path / "data")
    assert main(["data", "verify", "stsb", "sick", "--data-root", str(root)]) == 0
    assert main(["data", "verify", "mr", "--data-root", str(root)]) == 3
    assert "mr:" in capsys.readouterr().out
    assert main(["data", "verify", "nosuch", "--data-root", str(root)]) == 2
    assert "unknown dataset 'nosuch'" in capsys.readouterr().err


def test_data_fetch_installs_from_an_archive_through_the_package(data_root, tmp_path, capsys):
    """`sbert-repro data fetch` runs the same code as data_scripts/fetch_data.py (repro.data.fetch)."""
    import tarfile

    archive = tmp_path / "Stsbenchmark.tar.gz"
    with tarfile.open(archive, "w:gz") as tf:
        for p in sorted((data_root / "stsb").glob("*")):
            if p.name != "SOURCE.md":
                tf.add(p, arcname=f"stsbenchmark/{p.name}")
    root = tmp_path / "fresh"
    assert main(["data", "fetch", "stsb", "--from-archive", str(archive), "--data-root", str(root)]) == 0
    assert "ok   stsb" in capsys.readouterr().out
    assert main(["data", "verify", "stsb", "--data-root", str(root)]) == 0
    assert main(["data", "fetch", "sick", "--from-archive", str(archive), "--data-root", str(root)]) == 3
    assert "FAIL sick" in capsys.readouterr().out


def test_the_fetch_scripts_are_thin_wrappers_of_the_package():
    repo = Path(__file__).resolve().parents[1]
    for script, fn in (("fetch_data.py", "main"), ("fetch_wikisec.py", "wikisec_main")):
        text = (repo / "data_scripts" / script).read_text()
        assert "from repro.data.fetch import" in text and fn in text and len(text.splitlines()) < 45, script
