"""What ``reproduce`` prints: the estimate before any work, one progress bar over the whole run, and the summary
at the end (at most :data:`MAX_SUMMARY_LINES` lines) with the exit status.

The summary says where the tables and REPORT.md are, the verdict and claim counts, one line per *kind* of input
that was missing (rows with the same reason grouped, with a count and the command that fixes it) and one line on
the exit status. Each row's own reason is in REPORT.md ("Rows not run here, and why"), in the run's log, and on
the console with ``--verbose``.

Exit status (:func:`exit_status`):

- **0**: every selected table ran, or could not run only for a reason that is not the user's to fix on this
  machine: a row not run by design (a model not reachable offline, a row not implemented in this suite), and, in
  a run over *all* tables (no ``--tables``), a table whose data has **no pinned download** (Table 4's Wikipedia
  sections: not part of the data root, no checksum in the manifest to fetch it against). Such a table is listed as
  not run with its fix line; it does not fail the run, because the main command then did everything that can be
  done here and a newcomer's first run should not end in "failed" for data the suite cannot provide.
- **3** (:data:`repro.errors.EXIT_NOT_RUN`): a row failed (an error in the suite), data is broken (truncated,
  malformed, checksum), data the suite *can* fetch (a pinned download: ``--fetch-missing``) is missing, or a table
  named with ``--tables`` could not run for any reason to fix (asking for Table 4 and not getting it fails).

No torch here.
"""

from __future__ import annotations

import re
import sys
import threading
import time
from dataclasses import dataclass

from repro.errors import EXIT_NOT_RUN

MAX_SUMMARY_LINES = 15
CLAIM_WORDS = {"holds": "hold", "consistent, not tested": "consistent (untested)", "does not hold": "do not hold",
               "not testable with this profile": "not testable here"}
MAX_KIND_LINES = 6  # kinds of missing input listed one per line; more are counted on one line


@dataclass
class Miss:
    """One row (or a whole table) that did not give a number: where, why, and whether it is the user's to fix."""

    table: str
    label: str
    reason: str
    must_fix: bool = False
    failed: bool = False  # an error in the suite (a "failed" record), not a missing input
    why: str = ""  # the plan's one line for the missing input (name, command), where the plan has one


# ------------------------------------------------------------------------------------------------ kinds
_COMMAND = re.compile(r"`((?:python|pip|sbert-repro|huggingface-cli|curl)[^`]*)`|((?:python data_scripts/\S+|pip "
                      r"install)[^;()`]*)")


_MISSING = re.compile(r"missing|not found|not part of|no such file|does not exist", re.IGNORECASE)


def _command(reason: str) -> str | None:
    m = _COMMAND.search(reason)
    if not m:
        return None
    return (m.group(1) or m.group(2)).strip().rstrip(".,")


def kind_of(miss: Miss) -> tuple[str, str, str]:
    """(key, what, fix) of a row's reason: rows with one key are one line of the summary."""
    r = miss.reason or ""
    for line in (miss.why or "").split("\n"):  # the plan's line for the input this reason names
        name = line.split(":", 1)[0].strip()
        if name and re.search(rf"(?<!\w){re.escape(name)}(?!\w)", r):
            r = line
            break
    subject = r.split(":", 1)[0].strip() if ":" in r else ""
    if miss.failed:
        return "failed", "failed with an error (the traceback is in the log)", "see the log; rerun to retry"
    if "not reachable offline" in r or "not in the Hugging Face cache" in r or "no --model-path" in r:
        return ("weights", "model weights not reachable offline",
                "download where the hub is reachable, or pass --model-path ID=DIR")
    if "not implemented" in r or "no loader" in r:
        return "not implemented", "not implemented in this suite (by design)", ""
    cmd = _command(r)
    if cmd and _MISSING.search(r):
        return f"cmd:{cmd}", (f"{subject} missing" if subject and len(subject) < 60 else "input missing"), cmd
    if cmd:  # broken (truncated, malformed, checksum): the reason itself says which file and what is wrong
        short = re.split(r"`|; | re-run| download| get it", r, maxsplit=1)[0].rstrip(" .,:;(")
        return f"reason:{short[:120]}", (short if len(short) <= 140 else short[:137] + "..."), cmd
    return f"reason:{r[:120]}", (r if len(r) <= 140 else r[:137] + "..."), ""


def group(misses: list[Miss]) -> list[dict]:
    """The misses grouped by :func:`kind_of`, largest group first: ``{"what", "fix", "rows", "tables", "subjects",
    "must_fix"}``."""
    groups: dict[str, dict] = {}
    for m in misses:
        key, what, fix = kind_of(m)
        g = groups.setdefault(key, {"what": what, "fix": fix, "rows": 0, "tables": [], "subjects": [],
                                    "must_fix": False})
        g["rows"] += 1
        g["must_fix"] |= m.must_fix or m.failed
        if m.table not in g["tables"]:
            g["tables"].append(m.table)
        subject = (m.reason or "").split(":", 1)[0].strip()
        if key == "weights" and subject and subject not in g["subjects"]:
            g["subjects"].append(subject)
    return sorted(groups.values(), key=lambda g: (not g["must_fix"], -g["rows"]))


# ------------------------------------------------------------------------------------------------ exit status
def exit_status(misses: list[Miss], *, explicit: bool, unpinned: set[str] = frozenset()) -> tuple[int, str]:
    """(exit status, one line saying why) under the rule of this module's docstring. ``explicit``: the tables were
    named with ``--tables``; ``unpinned``: tables that could not run only because data with no pinned download is
    missing (``Table 4``)."""
    failing = [m for m in misses if m.failed or (m.must_fix and (explicit or m.table not in unpinned))]
    if failing:
        tables = ", ".join(dict.fromkeys(f"Table {m.table}" for m in failing))
        return EXIT_NOT_RUN, (f"exit {EXIT_NOT_RUN}: {len(failing)} row(s) of {tables} could NOT run for a reason to "
                              "fix (data missing or broken, or an error): the lines above say how")
    tolerated = sorted({m.table for m in misses if m.must_fix})
    if tolerated:
        names = ", ".join(f"Table {t}" for t in tolerated)
        return 0, (f"exit 0: every table that can run here ran; {names} not run (its data has no pinned download: "
                   f"fetch it as above; `--tables {','.join(tolerated)}` exits {EXIT_NOT_RUN} while it is missing)")
    return 0, "exit 0: every selected table ran" + (" (rows not run by design are listed above)" if misses else "")


# ------------------------------------------------------------------------------------------------ summary
def _duration(seconds: float) -> str:
    seconds = max(0, round(seconds))
    if seconds < 60:
        return f"{seconds} s"
    if seconds < 3600:
        return f"{seconds // 60} min {seconds % 60:02d} s"
    return f"{seconds // 3600} h {seconds % 3600 // 60:02d} min"


def summary_lines(*, elapsed: float, estimate: float | None, tables_dir, tables: list[str], report,
                  counts: dict | None, misses: list[Miss], status: tuple[int, str], log=None,
                  verbose: bool = False) -> list[str]:
    """The end of a run: at most :data:`MAX_SUMMARY_LINES` lines (``verbose``: then each row's reason)."""
    est = f" (estimated {_duration(estimate)})" if estimate else ""
    lines = [f"done in {_duration(elapsed)}{est}"]
    lines.append(f"tables: {tables_dir}/ (Table{'s' if len(tables) > 1 else ''} {', '.join(tables)}: CSV, Markdown, "
                 "PNG)")
    if counts:
        cells = ", ".join(f"{k} {v}" for k, v in counts["cells"].items())
        claims = ", ".join(f"{CLAIM_WORDS.get(k, k)} {v}" for k, v in counts["claims"].items())
        lines.append(f"cells: {cells}; claims: {claims}")
    if report is not None:
        lines.append(f"report: {report}" + (" (each row not run, and why)" if misses else ""))
    if misses:
        groups = group(misses)
        lines.append(f"not run: {len(misses)} row(s) in {len(groups)} kind(s); each row's reason: REPORT.md, "
                     + ("below" if verbose else "or --verbose"))
        shown = groups[:MAX_KIND_LINES]
        for g in shown:
            what = g["what"]
            if g["subjects"]:
                more = f", +{len(g['subjects']) - 2} more" if len(g["subjects"]) > 2 else ""
                what += f" ({', '.join(g['subjects'][:2])}{more})"
            where = ", ".join(f"T{t}" for t in g["tables"])
            lines.append(f"  - {g['rows']} row(s) [{where}] {what}" + (f": {g['fix']}" if g["fix"] else ""))
        if len(groups) > len(shown):
            rest = groups[len(shown):]
            lines.append(f"  - {sum(g['rows'] for g in rest)} row(s) of {len(rest)} other kind(s): see REPORT.md")
    lines.append(status[1])
    if log is not None:
        lines.append(f"log of this run: {log}")
    lines = lines[:MAX_SUMMARY_LINES]
    if verbose and misses:
        lines.append("rows not run:")
        lines += [f"  - Table {m.table}: {m.label}: {m.reason}" for m in misses]
    return lines


# ------------------------------------------------------------------------------------------------ progress
class Progress:
    """One bar over the whole run, in estimated seconds: each table advances it by its estimate, within a table by
    its units (``unit(i, n)``) or, for a table measured all at once, by the time spent (capped below the table's
    estimate). The ETA is tqdm's: the remaining estimate at the rate observed so far, so a wrong estimate
    corrects itself as the run goes. Disabled where stderr is not a terminal (logs stay clean)."""

    def __init__(self, estimates: dict[str, float], *, enabled: bool | None = None):
        from tqdm.auto import tqdm

        self.estimates = {t: max(float(s), 1.0) for t, s in estimates.items()}
        total = sum(self.estimates.values())
        disable = (not sys.stderr.isatty()) if enabled is None else not enabled
        self.bar = tqdm(total=round(total), unit="s", desc="reproduce", disable=disable, dynamic_ncols=True,
                        bar_format="{desc}: {percentage:3.0f}%|{bar}| {elapsed} elapsed, ETA {remaining}")
        self.done = 0.0
        self.table, self.t0, self.frac = None, 0.0, 0.0
        self._stop = threading.Event()
        self._thread = None
        if not disable:
            self._thread = threading.Thread(target=self._tick, daemon=True)
            self._thread.start()

    def _set(self, pos: float) -> None:
        pos = min(round(pos), self.bar.total)
        if pos > self.bar.n:
            self.bar.update(pos - self.bar.n)

    def _tick(self) -> None:
        while not self._stop.wait(1.0):
            if self.table is not None:
                est = self.estimates.get(self.table, 1.0)
                frac = max(self.frac, min((time.perf_counter() - self.t0) / est, 0.95))
                self._set(self.done + est * frac)

    def start(self, table: str) -> None:
        self.table, self.t0, self.frac = table, time.perf_counter(), 0.0
        self.bar.set_description_str(f"Table {table}")

    def unit(self, i: int, n: int) -> None:
        self.frac = (i - 1) / max(n, 1)

    def finish(self, table: str) -> None:
        self.done += self.estimates.get(table, 0.0)
        self.table = None
        self._set(self.done)

    def write(self, line: str) -> None:
        self.bar.write(line) if not self.bar.disable else print(line, flush=True)

    def close(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=2)
        self.bar.close()
