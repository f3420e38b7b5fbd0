"""Compare the value columns of two folders of table CSVs (e.g. before and after a refactoring).

    python -m repro.tables.compare tables/local OTHER/local

Lines are matched by (table, group, row, model, profile, column); every other column of the CSV (ours, std,
n_runs, paper, diff, status, reason, extra metrics, substitute, paper_row) must be equal. Exit status 1 and the
differences listed when they are not; line order does not matter.
"""

from __future__ import annotations

import sys
from pathlib import Path

import pandas as pd

KEY = ["table", "group", "row", "model", "profile", "column"]


def compare(a: Path, b: Path) -> list[str]:
    problems = []
    names = sorted({p.name for p in a.glob("*.csv")} | {p.name for p in b.glob("*.csv")})
    for name in names:
        if not (a / name).is_file() or not (b / name).is_file():
            problems.append(f"{name}: only in {'one' if (a / name).is_file() else 'the other'} folder")
            continue
        x = pd.read_csv(a / name, dtype=str, keep_default_na=False)
        y = pd.read_csv(b / name, dtype=str, keep_default_na=False)
        if list(x.columns) != list(y.columns):
            problems.append(f"{name}: columns differ: {list(x.columns)} vs {list(y.columns)}")
            continue
        if x.duplicated(KEY).any() or y.duplicated(KEY).any():
            problems.append(f"{name}: duplicate keys")
        x, y = x.set_index(KEY).sort_index(), y.set_index(KEY).sort_index()
        if not x.index.equals(y.index):
            problems.append(f"{name}: different lines: {sorted(set(x.index) ^ set(y.index))[:5]}")
            continue
        diff = (x != y).any(axis=1)
        for k in x.index[diff][:10]:
            cols = [c for c in x.columns if x.loc[k, c] != y.loc[k, c]]
            problems.append(f"{name}: {k}: {', '.join(f'{c}: {x.loc[k, c]!r} vs {y.loc[k, c]!r}' for c in cols)}")
        print(f"{name}: {len(x)} lines, {int(diff.sum())} differ")
    return problems


if __name__ == "__main__":
    if len(sys.argv) != 3:
        sys.exit(__doc__)
    found = compare(Path(sys.argv[1]), Path(sys.argv[2]))
    for p in found:
        print("  " + p)
    sys.exit(1 if found else 0)
