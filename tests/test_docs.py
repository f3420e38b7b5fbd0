"""The docs check (issue 23): every command README.md and docs/*.md show is run, here or by a test they name.

**What a command is.** Every line of a fenced code block whose info string is ``bash``, ``sh``, ``shell`` or
``console``, after: joining lines that end in ``\\``; dropping a leading ``$ `` prompt; splitting into words by
shell rules, where a ``#`` that starts a word begins a comment (dropped); splitting at ``&&`` into several
commands. Leading ``NAME=value`` words are the command's environment, not the command. Blank lines, comment
lines and lines that only set the environment (``export NAME=value ...``) run nothing and are not commands.
A command's text, which the patterns below match (``re.fullmatch``), is ``shlex.join`` of its words,
environment first: ``SBERT_REPRO_PROFILE=smoke tox -e reproduce``.

**Each command needs a runner**, else ``test_every_command_has_a_runner`` fails naming the file and line:

- ``HERE``: cheap commands this module runs itself (``test_cheap_command_runs``): ``sbert-repro`` through
  ``repro.cli.main`` in-process, scripts in a subprocess, with temporary results / tables folders where the
  command would write; the exit status and a key piece of output are checked;
- ``REGISTRY``: commands that take minutes to hours, download or need a GPU or a cluster; each names where the
  same command (or the same code path on the smoke profile) runs: pytest node ids, or ``ci:<file>:<text>`` when
  a CI script runs the line itself. ``test_registry_targets_exist`` checks that every node id names a test
  function (``test_registry_node_ids_collect``, slow, collects them with ``pytest --collect-only -q``) and that
  every entry still matches a documented command.

Besides: every ``sbert-repro`` command, in code blocks and in inline code, and what each documented
``tox -e reproduce -- ARGS`` runs through tox.ini, parses with ``repro.cli.build_parser()`` (its flags exist);
every ``tox -e ENV`` names an environment of tox.ini; every relative link (and its #anchor) resolves; every name
a ``python`` block imports exists; README.md stays at most 100 lines.
"""

from __future__ import annotations

import ast
import configparser
import importlib
import re
import shlex
import shutil
import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from repro.cli import build_parser, main

REPO = Path(__file__).resolve().parents[1]
PAGES = [REPO / "README.md", *sorted((REPO / "docs").glob("*.md"))]
README_MAX_LINES = 100

# --------------------------------------------------------------------------------------------------- REGISTRY
# Documented commands that are not run here, and where they run. Keys: a regex over the command's text (see the
# module docstring; re.fullmatch). Values: pytest node ids ("tests/test_x.py::test_y") of tests that run the
# same command or its code path, or "ci:<file>:<text>" when the CI script <file> runs <text> as it stands.
# To document a new command, add its line here (or to HERE below) in the same commit as the test that runs it.
REGISTRY: dict[str, list[str]] = {
    # the two set-up commands (README): CI runs them (.ci/run); the main job's variants below
    r"python3 -m pip install -q 'tox>=4\.10'": ["ci:.ci/run:python3 -m pip install -q 'tox>=4.10'"],
    r"tox -e py": ["ci:.ci/run:tox -e py"],
    r"tox -e bench( -- --full)?": ["ci:.ci/run:tox -e bench"],  # --full: the same cases at full size (hours)
    r"(SBERT_REPRO_PROFILE=\w+ )?tox -e reproduce( -- .+)?": [
        "tests/test_docs.py::test_tox_reproduce_commands_plan",  # each variant through tox.ini, as a dry run
        "tests/test_table1_smoke.py::test_smoke_table1_under_a_minute_and_deterministic",  # run, resume, --force
        "tests/test_table2_6.py",  # training tables end to end (smoke profile)
    ],
    # sbert-repro subcommands that run pipelines
    r"sbert-repro reproduce --profile local --tables 1": [
        "tests/test_table1_smoke.py::test_smoke_table1_under_a_minute_and_deterministic"],
    r"sbert-repro tables --profile local": [
        "tests/test_specs.py::test_committed_tables_regenerate_from_the_records_without_torch"],
    r"sbert-repro run UNIT-ID --profile (local|paper)": [
        "tests/test_specs.py::test_unit_ids_are_record_ids_and_run_one_unit"],
    r"sbert-repro plan --profile paper --rehearse": [
        "tests/test_rehearsal.py::test_sample_units_cover_every_kind"],  # builds the miniatures first (seconds)
    r"sbert-repro reproduce --profile paper --rehearse --executor processes --workers 2": [
        "tests/test_rehearsal.py::test_one_unit_of_every_kind_rehearsed_with_processes"],  # all of it: tox -e rehearse
    r"tox -e rehearse": ["tests/test_rehearsal.py::test_one_unit_of_every_kind_rehearsed_with_processes",
                         "ci:.ci/run:tox -e rehearse"],
    r"tox -e rehearse-slurm": [  # all of it: the tox env (CI); a sample in tox -e py
        "ci:.ci/run:tox -e rehearse-slurm",
        "tests/test_rehearsal.py::test_one_unit_of_every_kind_rehearsed_through_slurm_in_bundles",
        "tests/test_executors.py::test_slurm_bundles_units_and_names_each_failure"],
    r"sbert-repro reproduce --profile smoke --executor processes --workers 2": [
        "tests/test_grid.py::test_processes_two_workers_give_the_local_tables"],
    r"sbert-repro reproduce --profile paper --executor processes --gpus 0,1,2,3": [
        "tests/test_executors.py::test_one_worker_per_gpu"],
    r"sbert-repro reproduce --profile paper --fetch-missing --executor slurm .*": [
        "tests/test_grid.py::test_slurm_gives_the_local_tables",  # CI starts a one-node Slurm (.ci/slurm-up)
        "tests/test_executors.py::test_slurm_job_arrays_in_dependency_order",
        "tests/test_cli.py::test_every_executor_is_built_from_its_own_flags"],
    r"sbert-repro evaluate --model \./my-sbert --tables 1,3,5": [
        "tests/test_custom.py::test_cli_evaluate_tables_and_mteb_layout",  # smoke slices, a folder model
        "tests/test_evaluate_full.py::test_minilm_through_tables_1_3_5_beside_the_local_rows"],  # tox -e evaluate
    r"sbert-repro evaluate --model bert-base-uncased --pooling cls --layer -2 --compare-with 'BERT CLS-vector'"
    r" --tables 1": ["tests/test_table1_smoke.py::test_hub_model_row_runs_from_a_local_folder"],
    r"sbert-repro train --model bert-base-uncased --data nli": [
        "tests/test_training_command.py::test_train_command_runs_and_resumes"],
    r"sbert-repro bench( --full)?": ["tests/test_speed_bench.py::test_bench_command_smoke"],
    r"sbert-repro bench --train( --train-model sbert-(base|large) --device cuda)?": [
        "tests/test_train_bench.py::test_training_throughput_report"],
    # scripts and installs
    r"bash benchmarks/measure_local\.sh": [
        "tests/test_docs.py::test_measure_local_script_is_well_formed",  # 35 min of measuring: checked, not run
        "tests/test_speed_bench.py::test_bench_command_smoke",
        "tests/test_train_bench.py::test_training_throughput_report"],
    r"python data_scripts/fetch_data\.py \w+": [  # downloads: the same script, from a local archive / file URL
        "tests/test_data_manifest.py::test_fetch_downloads_and_installs",
        "tests/test_data_manifest.py::test_cli_from_archive"],
    r"python -m pip install -e '\.\[(use|slurm)\]'": [
        "tests/test_docs.py::test_documented_extras_exist_and_ci_installs_them", "ci:.ci/run:tox -e use"],
}

# ------------------------------------------------------------------------------------------------------- HERE
# Cheap commands this module runs: regex -> expected exit statuses. The runner adds temporary --results-dir /
# --tables-dir where a subcommand writes, so nothing in the repository changes.
HERE: dict[str, set[int]] = {
    r"sbert-repro( \w+)* --help": {0},
    r"sbert-repro profiles": {0},
    r"sbert-repro models": {0},
    r"sbert-repro data verify": {0, 3},  # 3 where Table 4's data is absent (CI's data root; documented)
    r"sbert-repro data verify --profile \w+ --tables 1": {0},
    r"sbert-repro records check": {0},
    r"sbert-repro plan --profile \w+( --tables [\d,]+)?( --json| --verbose)?": {0},
    r"sbert-repro reproduce --profile paper --dry-run": {0, 3},  # 3 while data is missing (documented)
    r"python data_scripts/fetch_data\.py (--help|--list|--verify-only)": {0},
    r"python data_scripts/fetch_wikisec\.py --help": {0},
    r"python -m repro\.tables\.compare tables/local my-tables/local": {0},
}
# Commands whose check needs the data root (skipped, saying so, without it).
NEEDS_DATA = (r"sbert-repro data verify", r"python data_scripts/fetch_data\.py --verify-only")
# Subcommands that write results / tables (the runner points them at a temporary folder).
WRITES_RESULTS = {"reproduce", "tables", "plan", "run", "evaluate", "records", "bench"}
WRITES_TABLES = {"reproduce", "tables", "bench"}


@dataclass
class Command:
    page: Path
    line: int
    env: dict = field(default_factory=dict)
    words: list = field(default_factory=list)

    @property
    def text(self) -> str:
        return shlex.join([f"{k}={v}" for k, v in self.env.items()] + self.words)

    @property
    def where(self) -> str:
        return f"{self.page.relative_to(REPO)}:{self.line}"


SHELL_BLOCKS = {"bash", "sh", "shell", "console"}
ASSIGNMENT = re.compile(r"[A-Za-z_][A-Za-z0-9_]*=.*")


def _blocks(page: Path):
    """(info string, [(line number, text)]) of every fenced code block of ``page``."""
    lines = page.read_text().splitlines()
    block, info = None, None
    for i, line in enumerate(lines, 1):
        stripped = line.strip()
        if stripped.startswith("```"):
            if block is None:
                block, info = [], stripped[3:].strip().split(" ")[0].lower()
            else:
                yield info, block
                block = None
        elif block is not None:
            block.append((i, line))


def _split(words):
    out, cur = [], []
    for w in words:
        if w == "&&":
            out.append(cur)
            cur = []
        else:
            cur.append(w)
    return [c for c in out + [cur] if c]


def page_commands(page: Path) -> list[Command]:
    found = []
    for info, block in _blocks(page):
        if info not in SHELL_BLOCKS:
            continue
        start, text = None, ""
        for number, line in block:
            start = number if start is None else start
            if line.rstrip().endswith("\\"):
                text += line.rstrip()[:-1] + " "
                continue
            text, at, start = (text + line).strip(), start, None
            if text.startswith("$ "):
                text = text[2:]
            lexer = shlex.shlex(text, posix=True, punctuation_chars="&")
            lexer.whitespace_split, lexer.commenters = True, "#"
            words, text = list(lexer), ""
            for part in _split(words):
                env = {}
                while part and ASSIGNMENT.fullmatch(part[0]):
                    k, v = part.pop(0).split("=", 1)
                    env[k] = v
                if part and part[0] != "export":
                    found.append(Command(page, at, env, part))
    return found


COMMANDS = [c for page in PAGES for c in page_commands(page)]


def _match(table, cmd):
    return next((k for k in table if re.fullmatch(k, cmd.text)), None)


def _node_exists(node: str) -> bool:
    path, _, name = node.partition("::")
    file = REPO / path
    if not file.is_file():
        return False
    if not name:
        return True
    tree = ast.parse(file.read_text())
    names = {n.name for n in ast.walk(tree) if isinstance(n, (ast.FunctionDef, ast.ClassDef))}
    return all(part.split("[")[0] in names for part in name.split("::"))


# ------------------------------------------------------------------------------------------ the commands


def test_the_pages_show_commands():
    """The extraction finds what the pages show (a check that cannot pass on an empty parse)."""
    texts = {c.text for c in COMMANDS}
    assert "tox -e reproduce" in texts and "tox -e py" in texts
    assert "python3 -m pip install -q 'tox>=4.10'" in texts
    assert "SBERT_REPRO_PROFILE=smoke tox -e reproduce" in texts
    assert any(c.words[:2] == ["sbert-repro", "plan"] for c in COMMANDS)
    assert len(COMMANDS) > 30


def test_the_extraction_rules(tmp_path):
    page = tmp_path / "p.md"
    page.write_text("text\n```bash\n$ A=1 B=2 tox -e x -- --y 'a b'   # comment\nexport C=3\n# only a comment\n"
                    "sbert-repro plan \\\n    --json && python -m z\n```\n```python\nimport os\n```\n"
                    "```console\nsbert-repro models\n```\n")
    got = [(c.line, c.env, c.words) for c in page_commands(page)]
    assert got == [(3, {"A": "1", "B": "2"}, ["tox", "-e", "x", "--", "--y", "a b"]),
                   (6, {}, ["sbert-repro", "plan", "--json"]), (6, {}, ["python", "-m", "z"]),
                   (13, {}, ["sbert-repro", "models"])]


def test_every_command_has_a_runner():
    missing = [f"{c.where}: `{c.text}`" for c in COMMANDS if _match(HERE, c) is None and _match(REGISTRY, c) is None]
    assert not missing, ("documented commands that nothing runs (add them to HERE or REGISTRY in tests/test_docs.py,"
                         " naming the test that runs them):\n" + "\n".join(missing))


def test_registry_targets_exist():
    problems = []
    for pattern, targets in REGISTRY.items():
        if not any(re.fullmatch(pattern, c.text) for c in COMMANDS):
            problems.append(f"REGISTRY {pattern!r} matches no documented command (remove it or document it)")
        assert targets, pattern
        for t in targets:
            if t.startswith("ci:"):
                _, file, text = t.split(":", 2)
                lines = (REPO / file).read_text().splitlines() if (REPO / file).is_file() else []
                if not any(re.search(re.escape(text) + r"(?![\w-])", ln) for ln in lines if not ln.startswith("#")):
                    problems.append(f"{t}: {file} does not run {text!r}")
            elif not _node_exists(t):
                problems.append(f"{t}: no such test")
    for pattern in HERE:
        if not any(re.fullmatch(pattern, c.text) for c in COMMANDS):
            problems.append(f"HERE {pattern!r} matches no documented command")
    assert not problems, "\n".join(problems)


@pytest.mark.slow
def test_registry_node_ids_collect():
    nodes = sorted({t for ts in REGISTRY.values() for t in ts if not t.startswith("ci:")})
    files = sorted({n.split("::")[0] for n in nodes})
    r = subprocess.run([sys.executable, "-m", "pytest", "--collect-only", "-q", "-p", "no:cacheprovider", *files],
                       cwd=REPO, capture_output=True, text=True, timeout=300)
    collected = r.stdout
    for node in nodes:
        assert (f"{node}\n" in collected or f"{node}[" in collected
                or ("::" not in node and f"{node}::" in collected)), (node, r.stdout[-2000:], r.stderr[-2000:])


HERE_COMMANDS = [c for c in COMMANDS if _match(HERE, c) is not None]


@pytest.mark.parametrize("cmd", HERE_COMMANDS, ids=[f"{c.where}:{c.text}" for c in HERE_COMMANDS])
def test_cheap_command_runs(cmd, tmp_path, monkeypatch, capsys, request):
    if any(re.fullmatch(p, cmd.text) for p in NEEDS_DATA):
        request.getfixturevalue("data_root")  # skips, saying why, without the data root
    expected = HERE[_match(HERE, cmd)]
    for k, v in cmd.env.items():
        monkeypatch.setenv(k, v)
    words = list(cmd.words)
    if words[0] == "sbert-repro":
        argv = words[1:]
        sub = argv[0] if argv else ""
        if "--help" in argv:
            with pytest.raises(SystemExit) as e:
                main(argv)
            assert e.value.code in expected and "usage:" in capsys.readouterr().out, cmd.where
            return
        if sub in WRITES_RESULTS and "--results-dir" not in argv and not argv[:2] == ["records", "check"]:
            argv += ["--results-dir", str(tmp_path / "results")]  # `records check` reads the committed records
        if sub in WRITES_TABLES and "--tables-dir" not in argv:
            argv += ["--tables-dir", str(tmp_path / "tables")]
        monkeypatch.chdir(REPO)
        rc = main(argv)
        out = capsys.readouterr()
        assert rc in expected, f"{cmd.where}: `{cmd.text}` exited {rc}\n{out.out[-2000:]}\n{out.err[-2000:]}"
        assert out.out.strip(), f"{cmd.where}: `{cmd.text}` printed nothing"
        return
    cwd = REPO
    if words[:3] == ["python", "-m", "repro.tables.compare"]:
        cwd = tmp_path  # two folders to compare: the committed tables, twice
        for folder in words[3:]:
            shutil.copytree(REPO / "tables" / "local", tmp_path / folder)
    assert words[0] == "python", cmd.text
    env = dict(__import__("os").environ, PYTHONPATH=str(REPO), **cmd.env)
    r = subprocess.run([sys.executable, *words[1:]], cwd=cwd, capture_output=True, text=True, timeout=120, env=env)
    assert r.returncode in expected, f"{cmd.where}: `{cmd.text}` exited {r.returncode}\n{r.stdout[-2000:]}{r.stderr}"
    assert r.stdout.strip(), f"{cmd.where}: `{cmd.text}` printed nothing"


# ------------------------------------------------------------------------------------------ flags and tox


def _tox() -> configparser.ConfigParser:
    cfg = configparser.ConfigParser(interpolation=None)
    cfg.read(REPO / "tox.ini")
    return cfg


def _tox_reproduce_argv(cmd: Command, tmp_path: Path) -> list[str]:
    """What `tox -e reproduce [-- ARGS]` runs (tox.ini's command with the command's environment and ARGS)."""
    template = _tox()["testenv:reproduce"]["commands"].strip()
    profile = cmd.env.get("SBERT_REPRO_PROFILE", "local")
    template = re.sub(r"\{env:SBERT_REPRO_PROFILE:(\w+)\}", profile, template)
    template = template.replace("{tox_root}", str(tmp_path))
    words = shlex.split(template)
    assert words[-1] == "{posargs}", template
    posargs = cmd.words[cmd.words.index("--") + 1:] if "--" in cmd.words else []
    return words[:-1] + posargs


def _prose(page: Path) -> str:
    """The page without its code blocks (each replaced by as many blank lines, so line numbers stay)."""
    return re.sub(r"```.*?```", lambda m: "\n" * m.group(0).count("\n"), page.read_text(), flags=re.S)


def _inline_sbert_repro(page: Path):
    text = _prose(page)
    for m in re.finditer(r"`(sbert-repro [^`]+)`", text):
        yield text[:m.start()].count("\n") + 1, m.group(1)


def test_sbert_repro_flags_exist(tmp_path):
    """Every sbert-repro command the pages show, also inline and through `tox -e reproduce -- ARGS`, parses."""
    shown = [(c.where, c.words) for c in COMMANDS if c.words[0] == "sbert-repro"]
    shown += [(f"{c.where} (through tox.ini)", _tox_reproduce_argv(c, tmp_path)) for c in COMMANDS
              if c.words[:3] == ["tox", "-e", "reproduce"]]
    for page in PAGES:
        shown += [(f"{page.relative_to(REPO)}:{n}", shlex.split(t)) for n, t in _inline_sbert_repro(page)]
    assert len(shown) > 30
    parser, bad = build_parser(), []
    for where, words in shown:
        argv = words[1:]
        if "--help" in argv:
            continue
        try:
            args = parser.parse_args(argv)
            assert args.fn is not None
        except SystemExit:
            bad.append(f"{where}: `{shlex.join(words)}`")
    assert not bad, "documented commands the parser refuses:\n" + "\n".join(bad)


def test_tox_environments_exist():
    envs = {s.split(":", 1)[1] for s in _tox().sections() if s.startswith("testenv:")}
    for c in COMMANDS:
        if c.words[:2] == ["tox", "-e"]:
            assert c.words[2] in envs, f"{c.where}: tox.ini has no environment {c.words[2]!r}"


def test_tox_reproduce_commands_plan(tmp_path, monkeypatch, capsys):
    """Every documented `tox -e reproduce` variant, as tox.ini runs it, plans without error (--dry-run; the
    download of --fetch-missing left out). A --model-path DIR that does not exist here is an empty folder."""
    variants = [c for c in COMMANDS if c.words[:3] == ["tox", "-e", "reproduce"]]
    assert len(variants) >= 4
    monkeypatch.chdir(tmp_path)  # relative folders in the documented arguments land here
    for c in variants:
        argv = [w for w in _tox_reproduce_argv(c, tmp_path)[1:] if w != "--fetch-missing"]
        for i, w in enumerate(argv):
            if argv[i - 1] == "--model-path" and not Path(w.split("=", 1)[1]).exists():
                folder = tmp_path / "models" / w.split("=", 1)[0]
                folder.mkdir(parents=True, exist_ok=True)
                argv[i] = f"{w.split('=', 1)[0]}={folder}"
        rc = main([*argv, "--dry-run"])
        out = capsys.readouterr()
        assert rc in (0, 3), f"{c.where}: `{c.text}` -> {argv}: exit {rc}\n{out.err[-2000:]}"
        assert "dry run:" in out.out, c.where


def test_measure_local_script_is_well_formed():
    """benchmarks/measure_local.sh (35 min of measuring) is valid bash, and its sbert-repro calls parse."""
    script = REPO / "benchmarks" / "measure_local.sh"
    assert subprocess.run(["bash", "-n", str(script)]).returncode == 0
    calls = [ln.split("-m repro", 1)[1].split() for ln in script.read_text().splitlines()
             if ln.startswith("$PY -m repro ")]
    assert len(calls) >= 2
    for argv in calls:
        build_parser().parse_args(argv)


def test_documented_extras_exist_and_ci_installs_them():
    import tomllib

    extras = tomllib.loads((REPO / "pyproject.toml").read_text())["project"]["optional-dependencies"]
    tox_extras = {w.strip() for s in _tox().sections() for w in _tox()[s].get("extras", "").split()}
    shown = [(c, m.group(1)) for c in COMMANDS for w in c.words if (m := re.fullmatch(r"\.\[(\w+)\]", w))]
    assert shown
    for c, extra in shown:
        assert extra in extras, f"{c.where}: pyproject.toml has no extra {extra!r}"
        assert extra in tox_extras, f"{c.where}: no tox environment installs the extra {extra!r}"


def test_the_paper_plan_sizes_quoted_are_the_plans(tmp_path):
    """The unit and training-run counts of the paper profile the pages quote are what `plan` gives today."""
    from repro.plan import build_plan
    from repro.profiles import PROFILES
    from repro.results import ResultStore

    plan = build_plan(PROFILES["paper"], ResultStore(tmp_path / "r"))
    units = len(plan["units"])
    train = sum(1 for u in plan["units"] if u["id"].startswith("train-"))
    quoted = [(page, m) for page in PAGES
              for m in re.finditer(r"(\d+) units, (\d+)( of them)? training runs", page.read_text())]
    assert quoted
    for page, m in quoted:
        assert (int(m.group(1)), int(m.group(2))) == (units, train), (
            f"{page.relative_to(REPO)} quotes {m.group(0)!r}; `sbert-repro plan --profile paper` gives {units} units, "
            f"{train} training runs")


# ------------------------------------------------------------------------------------------ links, size, code


def _slug(heading: str) -> str:
    s = re.sub(r"[^\w\- ]", "", heading.strip().lower().replace("`", ""))
    return s.replace(" ", "-")


def _anchors(page: Path) -> set[str]:
    text = _prose(page)
    return {_slug(m.group(1)) for m in re.finditer(r"^#+ (.+)$", text, flags=re.M)}


def test_relative_links_resolve():
    bad = []
    for page in PAGES:
        text = _prose(page)
        for m in re.finditer(r"!?\[[^\]]*\]\(([^)\s]+)\)", text):
            target = m.group(1)
            if re.match(r"[a-z]+:", target):
                continue  # https:, mailto:
            path, _, anchor = target.partition("#")
            file = (page.parent / path).resolve() if path else page
            line = text[:m.start()].count("\n") + 1
            if not file.exists():
                bad.append(f"{page.relative_to(REPO)}:{line}: {target} does not exist")
            elif anchor and file.suffix == ".md" and anchor not in _anchors(file):
                bad.append(f"{page.relative_to(REPO)}:{line}: {target}: no heading #{anchor}")
    assert not bad, "\n".join(bad)


def test_every_docs_page_is_linked_from_the_readme():
    readme = (REPO / "README.md").read_text()
    for page in PAGES[1:]:
        assert f"(docs/{page.name})" in readme, f"README.md does not link docs/{page.name}"


def test_readme_is_one_screen():
    n = len((REPO / "README.md").read_text().splitlines())
    assert n <= README_MAX_LINES, f"README.md has {n} lines (at most {README_MAX_LINES}: details go into docs/)"


def test_python_blocks_import_what_exists():
    """The names every ```python block of the pages imports exist (the API the pages show has not moved)."""
    blocks = [(page, block) for page in PAGES for info, block in _blocks(page) if info == "python"]
    assert blocks
    for page, block in blocks:
        tree = ast.parse("\n".join(line for _, line in block))
        for node in ast.walk(tree):
            if isinstance(node, ast.ImportFrom):
                module = importlib.import_module(node.module)
                for alias in node.names:
                    assert hasattr(module, alias.name), f"{page.relative_to(REPO)}: {node.module}.{alias.name}"
            elif isinstance(node, ast.Import):
                for alias in node.names:
                    importlib.import_module(alias.name)
