"""Small reading helpers shared by every loader.

Everything here reports problems as :class:`~repro.errors.DataError` naming the file (and the line, where there is
one) and saying how to fix it, so that a bad or missing data file never surfaces as a bare ``KeyError``,
``ValueError`` or ``UnicodeDecodeError``.
"""

from __future__ import annotations

import codecs
import math
import re
from collections.abc import Iterator
from pathlib import Path

from repro.errors import DataError

FETCH_SCRIPT = "data_scripts/fetch_data.py"

# A plain decimal number: "4.400", "5", ".5", "1e-3". Rejects what float() would also take but no data file
# should contain ("nan", "inf", "1_000", "0x1p3").
_NUMBER = re.compile(r"[+-]?(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][+-]?\d+)?")


def fetch_hint(dataset: str, root: str | Path | None = None) -> str:
    """The sentence every "missing / wrong file" message ends with."""
    where = f" --data-root {root}" if root is not None else ""
    return (
        f"run `python {FETCH_SCRIPT} {dataset}{where}` or point SBERT_REPRO_DATA / --data-root at a folder "
        f"that has it"
    )


def require_file(path: str | Path, dataset: str, root: str | Path | None = None) -> Path:
    """Return ``path`` if it is an existing file; otherwise raise a DataError saying how to get it.

    ``dataset`` is the manifest name (``"stsb"``, ``"sick"``, ``"sts"`` ...) used in the fetch command;
    ``root`` the data root, shown in the command when given.
    """
    path = Path(path)
    if path.is_file():
        return path
    what = "is a folder, not a file" if path.is_dir() else "not found"
    raise DataError(f"{dataset} data file {what}; {fetch_hint(dataset, root)}", path)


def require_dir(path: str | Path, dataset: str, root: str | Path | None = None) -> Path:
    """Return ``path`` if it is an existing folder; otherwise raise a DataError saying how to get it."""
    path = Path(path)
    if path.is_dir():
        return path
    raise DataError(f"{dataset} data folder not found; {fetch_hint(dataset, root)}", path)


def read_lines(path: str | Path, encoding: str = "utf-8") -> Iterator[tuple[int, str]]:
    """Yield ``(line_number, text)`` for every line of ``path`` (numbers start at 1).

    Lines are split on ``\\n`` only (never on the other characters ``str.splitlines`` treats as breaks, such as
    ``\\x0b`` or ``\\u2028``, which may occur inside a sentence); a trailing ``\\r`` (CRLF files) is removed. A final
    line without a newline is yielded; the empty string after a final newline is not. ``encoding`` must be
    ASCII-compatible (``utf-8``, ``utf-8-sig``, ``latin-1``, ``cp1252`` ...); with ``utf-8-sig`` a leading BOM is
    dropped. Bytes that cannot be decoded raise a DataError naming the file, the line and the byte column.
    """
    path = Path(path)
    decoder = codecs.getincrementaldecoder(encoding)(errors="strict")
    number = 0
    with open(path, "rb") as fh:
        for number, raw in enumerate(fh, start=1):
            text = _decode(decoder, raw, path, number, encoding)
            yield number, _strip_eol(text)
        _decode(decoder, b"", path, max(number, 1), encoding, final=True)


def _decode(decoder, raw: bytes, path: Path, line: int, encoding: str, final: bool = False) -> str:
    """Decode one line with ``decoder``; turn a UnicodeDecodeError into a DataError naming file and line."""
    try:
        return decoder.decode(raw, final=final)
    except UnicodeDecodeError as exc:
        bad = exc.object[exc.start : exc.end]
        raise DataError(
            f"cannot decode byte(s) {bad!r} at byte column {exc.start + 1} as {encoding} ({exc.reason}); "
            f"the file is damaged or not the released version",
            path,
            line,
        ) from None


def _strip_eol(text: str) -> str:
    """Remove one trailing ``\\n`` and then one trailing ``\\r``."""
    if text.endswith("\n"):
        text = text[:-1]
    if text.endswith("\r"):
        text = text[:-1]
    return text


def parse_score(
    text: str,
    path: str | Path,
    line: int,
    lo: float | None = None,
    hi: float | None = None,
) -> float:
    """Parse a gold score; raise a DataError naming ``path`` and ``line`` if it is not a finite plain number.

    With ``lo`` / ``hi`` the score must also lie in ``[lo, hi]``.
    """
    stripped = text.strip()
    if not _NUMBER.fullmatch(stripped):
        raise DataError(f"non-numeric score {text!r}", path, line)
    value = float(stripped)
    if not math.isfinite(value):  # e.g. "1e999"
        raise DataError(f"score {text!r} is not a finite number", path, line)
    if (lo is not None and value < lo) or (hi is not None and value > hi):
        low = "-inf" if lo is None else f"{lo:g}"
        high = "inf" if hi is None else f"{hi:g}"
        raise DataError(f"score {stripped!r} is outside [{low}, {high}]", path, line)
    return value


def split_columns(
    text: str,
    path: str | Path,
    line: int,
    expected: int | tuple[int, ...],
) -> list[str]:
    """Split a line on tabs (never with csv quoting) and check the column count.

    ``expected`` is the allowed count or a tuple of allowed counts; a mismatch raises a DataError naming file,
    line, the count found and the count expected.
    """
    allowed = (expected,) if isinstance(expected, int) else tuple(expected)
    cols = text.split("\t")
    if len(cols) not in allowed:
        want = " or ".join(str(n) for n in allowed)
        hint = " (file cut off mid-line?)" if len(cols) < min(allowed) else ""
        raise DataError(
            f"expected {want} tab-separated columns, found {len(cols)}{hint}",
            path,
            line,
        )
    return cols
