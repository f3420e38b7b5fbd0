"""One unit of every kind from a plan: what CI rehearses in ``tox -e py`` (the whole rehearsal is ``tox -e rehearse``).

:func:`sample_units` picks evaluation units of a plan (:func:`repro.plan.build_plan`) until every kind is covered at
least once: each table's evaluator, each dataset a unit reads (its loader), each training objective (per model
kind: bi-encoder, cross-encoder), a released checkpoint (a ``sentence-transformers/...`` model scored as it is) and
an NLI -> STSb continuation (a training run that continues another); then adds the training units they need. No
torch.
"""

from __future__ import annotations


def _needs_closure(uid: str, by_id: dict, out: dict) -> None:
    for dep in by_id[uid]["needs"]:
        if dep in by_id and dep not in out:
            out[dep] = by_id[dep]
            _needs_closure(dep, by_id, out)


def kinds_of(entry: dict, by_id: dict) -> set[str]:
    """What an evaluation unit (with the training it needs) exercises, as keys: ``table:N``, ``data:NAME`` (a
    loader), ``model:ID`` (a model loader: word vectors, InferSent, each transformer family and size),
    ``objective:KIND/OBJECTIVE/DATA/HEAD``, ``released``, ``continuation``."""
    deps: dict = {}
    _needs_closure(entry["id"], by_id, deps)
    keys = {f"table:{entry['table']}"}
    for e in (entry, *deps.values()):
        keys |= {f"data:{d}" for d in e["datasets"]} | {f"model:{m}" for m in e["models"]}
        t = e.get("training") or {}
        if t:
            keys.add(f"objective:{t.get('kind')}/{t.get('objective')}/{t.get('data')}/{t.get('head', '')}")
            if e["needs"]:
                keys.add("continuation")
    if str(entry.get("model") or "").startswith("sentence-transformers/") and not deps:
        keys.add("released")
    return keys


def sample_units(plan: dict, statuses=("ready", "done")) -> list[str]:
    """Ids of a small set of units covering every kind (:func:`kinds_of`) that the plan's units with one of
    ``statuses`` cover, the training they need included, in plan order. Greedy: the unit adding the most new kinds
    first, the cheaper (fewer training units) on a tie."""
    by_id = {e["id"]: e for e in plan["units"]}
    evals, at_once = [], set()
    for e in plan["units"]:
        if e["what"] != "evaluate" or e["status"] not in statuses:
            continue
        if e.get("record") is None:  # a table measured at once (Table 7): its first unit stands for it
            if e["table"] in at_once:
                continue
            at_once.add(e["table"])
        evals.append(e)
    kinds = {e["id"]: kinds_of(e, by_id) for e in evals}
    cost = {}
    for e in evals:
        deps: dict = {}
        _needs_closure(e["id"], by_id, deps)
        cost[e["id"]] = len(deps)
    wanted = set().union(*kinds.values()) if kinds else set()
    chosen: list[str] = []
    covered: set[str] = set()
    while covered != wanted:
        best = max(evals, key=lambda e: (len(kinds[e["id"]] - covered), -cost[e["id"]]))
        if not kinds[best["id"]] - covered:
            break
        chosen.append(best["id"])
        covered |= kinds[best["id"]]
    picked: dict = {}
    for uid in chosen:
        picked[uid] = by_id[uid]
        _needs_closure(uid, by_id, picked)
    return [e["id"] for e in plan["units"] if e["id"] in picked]
