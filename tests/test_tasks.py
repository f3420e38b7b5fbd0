"""Tasks (repro/tasks): the registry by name, the one interface, and the declared unit expansion of the specs."""

from __future__ import annotations

import importlib.util

import pytest

from repro.errors import ConfigError
from repro.profiles import get_profile
from repro.specs import Cell, Row, TableSpec, per_column, per_seed
from repro.tasks import TASKS, get_task
from repro.tasks.base import Task


def test_an_unknown_task_name_lists_the_known_ones():
    with pytest.raises(ConfigError) as e:
        get_task("stsb")
    assert "unknown task 'stsb'" in str(e.value) and all(name in str(e.value) for name in TASKS)
    with pytest.raises(ConfigError, match="cannot be loaded"):
        get_task("repro.tasks.sts:NOPE")


def test_every_registered_task_loads_behind_the_interface():
    present = [n for n in TASKS if importlib.util.find_spec(TASKS[n].split(":")[0]) is not None]
    assert {"sts", "pairs", "afs", "triplets", "senteval"} <= set(present)
    for name in present:
        task = get_task(name)
        assert hasattr(task, "evaluate") or hasattr(task, "run_table"), name
        if isinstance(task, Task):
            assert task.name == name
    assert get_task("repro.tasks.sts:STS") is get_task("sts")  # a task of your own: "module:object"


def test_afs_rejects_a_row_kind_it_cannot_score():
    """Table 3 used to score any unknown kind as an untuned transformer; now the row and the kind are named."""
    from repro.tasks.afs import AFS, build_untrained

    row = Row("SBERT-NLI (trained here)", "smoke-bert", kind="nli-trained")
    with pytest.raises(ConfigError, match=r"AFS row 'SBERT-NLI \(trained here\)': kind 'nli-trained'"):
        build_untrained(row, corpus=None)
    with pytest.raises(ConfigError, match="kind 'measured'"):
        AFS.build(Row("timed", "m", kind="measured"), None, ctx=None)


def _toy(**kw) -> TableSpec:
    return TableSpec(number="toy", title="toy", slug="toy", columns=["a", "b"], metric="m", reference=None,
                     evaluator="sts", task="toy", datasets=("stsb",), **kw)


def test_units_per_column_and_per_seed_with_their_training():
    """The generic expansion: one unit per (row, cell), the training each needs listed once before the first unit
    that needs it, continued stages first; ids are record ids."""
    from repro.training.recipes import nli_stage, stsb_stage

    smoke = get_profile("smoke")
    rows = (Row("untrained", "smoke-bert"), Row("trained", "smoke-bert", kind="sbert", options={"train": True}))
    columns = _toy(rows={"smoke": rows}, cells=per_column(datasets=lambda c: (f"data-{c}",)))
    units = columns.units(smoke)
    assert [(u.row.label, u.column, u.datasets) for u in units] == [
        ("untrained", "a", ("data-a",)), ("untrained", "b", ("data-b",)),
        ("trained", "a", ("data-a",)), ("trained", "b", ("data-b",))]
    assert units[0].run.param_dict["column"] == "a" and len({u.id for u in units}) == 4
    narrowed = columns.units(smoke.with_table("toy", columns=("b",)))
    assert [u.column for u in narrowed] == ["b", "b"]

    training = dict(smoke.training)

    def stages(spec, row, profile, seed):
        if not row.opt("train"):
            return None
        return stsb_stage(training, nli_stage(training, row.model, seed=0), seed=seed)

    seeded = _toy(rows={"smoke": rows}, defaults={"*": {"seeds": (3, 4)}},
                  cells=per_seed(lambda r: bool(r.opt("train")), column="a"), stages=stages)
    units = seeded.units(smoke)
    kinds = [(u.what, u.row.label if u.row else None, u.seed) for u in units]
    assert kinds == [("evaluate", "untrained", None), ("train", None, None), ("train", None, None),
                     ("evaluate", "trained", 3), ("train", None, None), ("evaluate", "trained", 4)]
    nli, stsb3, ev3, stsb4, ev4 = units[1:]
    assert stsb3.needs == (nli.id,) and stsb4.needs == (nli.id,)  # one NLI model, continued per seed
    assert ev3.needs == (stsb3.id,) and ev3.stage == stages(None, ev3.row, smoke, 3) and units[0].stage is None
    assert ev3.run.seed == 3 and ev4.run.seed == 4 and units[0].run.seed is None  # the record's seed


def test_check_and_order_of_the_declared_units():
    rows = tuple(Row(f"r{i}", "smoke-bert", options={"late": i == 0}) for i in range(3))

    def check(spec, profile):
        if spec.knobs(profile).get("bad"):
            raise ConfigError("toy: bad knob")

    spec = _toy(rows={"smoke": rows}, check=check, cells=lambda s, row, p: [Cell(column="a"), Cell(column="b")],
                order=lambda row, cell: (bool(row.opt("late")), cell.column))
    smoke = get_profile("smoke")
    assert [(u.row.label, u.column) for u in spec.units(smoke)] == [
        ("r1", "a"), ("r2", "a"), ("r1", "b"), ("r2", "b"), ("r0", "a"), ("r0", "b")]
    with pytest.raises(ConfigError, match="bad knob"):
        spec.units(smoke.with_table("toy", bad=True))
