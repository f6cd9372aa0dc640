"""Opening an XLSX/XLSM workbook safely and parsing one sheet, without pandas, so it can start early.

The command line spends about half a second importing pandas, pyarrow and the pipeline before it reads a file; the
workbook parse (fastexcel/calamine, about 2 s for the 541,909-line Online Retail sheet) releases the GIL. So
``python -m rfm_core segment book.xlsx`` starts the parse of the first sheet on a thread (:func:`start_early`)
before those imports, and :func:`rfm_core.read.read_table` takes the parsed sheet (:func:`take_early`) when its
bytes (SHA-256) and sheet are the ones the thread parsed; otherwise it parses as always. The sheet is still parsed
once (the regression test counts the loader's calls). A wrong guess of the input on the command line costs a
wasted parse on the thread, never a wrong result. This module imports only the standard library (and fastexcel
on the thread).
"""

from __future__ import annotations

import hashlib
import io
import threading
import zipfile
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from .errors import InputFileError

__all__ = ["DEFAULT_MAX_UNCOMPRESSED_BYTES", "check_zip", "early_input", "load_sheet_text", "start_early",
           "take_early"]

#: The default of :attr:`rfm_core.settings.ReadOptions.max_uncompressed_bytes`: refuse workbooks that would expand
#: to more than 2 GB (zip bombs).
DEFAULT_MAX_UNCOMPRESSED_BYTES = 2_000_000_000

#: The subcommands of the CLI that read their input with the pandas reader (``--engine duckdb``/``spark`` read
#: CSV and Parquet only).
_READING_COMMANDS = frozenset({"segment", "clv", "backtest"})


def check_zip(data: bytes, name: str, limit: int) -> None:
    """Refuse a workbook that is not a readable zip, not a workbook, or expands past ``limit`` bytes.

    Raises
    ------
    InputFileError
        Damaged or truncated; a zip without ``xl/workbook.xml``; more than ``limit`` bytes once expanded (the
        members' claimed sizes, then, for members claiming over 100x compression, the bytes they really expand to).
    """
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as zf:
            infos = zf.infolist()
            members = {i.filename for i in infos}
            total = sum(i.file_size for i in infos)
    except zipfile.BadZipFile:
        raise InputFileError(
            f"{name} looks like an Excel workbook but is damaged or truncated. Download or export it again."
        ) from None
    if "xl/workbook.xml" not in members and "xl/workbook.bin" not in members:
        raise InputFileError(f"{name} is a zip archive, not an Excel workbook. Upload the .xlsx or .csv inside it.")
    if total > limit:
        raise _too_big(name, total, limit)
    # Sizes in a zip header are claims. For members that claim a suspicious ratio (real sheets compress about
    # 5-15x), count what they really expand to, stopping at the limit, before the workbook reader sees them.
    with zipfile.ZipFile(io.BytesIO(data)) as zf:
        for info in infos:
            if info.compress_size and info.file_size / info.compress_size > 100:
                seen = 0
                with zf.open(info) as member:
                    for block in iter(lambda member=member: member.read(1 << 20), b""):  # type: ignore[misc]
                        seen += len(block)
                        if seen > limit:
                            raise _too_big(name, seen, limit)


def _too_big(name: str, size: int, limit: int) -> InputFileError:
    return InputFileError(
        f"{name} would expand to more than {size / 1e9:.1f} GB when opened, over the {limit / 1e9:.1f} GB limit. "
        "Export it as CSV or split it into smaller workbooks."
    )


def load_sheet_text(reader: Any, sheet: str) -> Any:
    """The one parse of a sheet: every row from the sheet's first (``skip_rows=0`` keeps leading empty rows), no
    header (the reader finds it among the rows), every cell as text (ids such as ``00123`` stay as written).

    Returns fastexcel's eager load, a ``pyarrow.RecordBatch``; raises what fastexcel raises."""
    return reader.load_sheet(sheet, header_row=None, skip_rows=0, dtypes="string", eager=True)


class _Early:
    """One workbook parse started on a thread: the file's SHA-256, the sheet, and the parsed rows (or None)."""

    def __init__(self, path: Path, sheet: str | None) -> None:
        self.path, self.sheet = path, sheet
        self.digest: str | None = None
        self.batch: Any = None
        self.thread = threading.Thread(target=self._run, name="rfm-early-workbook", daemon=True)

    def _run(self) -> None:
        try:
            import fastexcel

            data = self.path.read_bytes()
            check_zip(data, self.path.name, DEFAULT_MAX_UNCOMPRESSED_BYTES)
            reader = fastexcel.read_excel(data)
            sheet = self.sheet if self.sheet is not None else reader.sheet_names[0]
            batch = load_sheet_text(reader, sheet)
            self.sheet, self.batch, self.digest = sheet, batch, hashlib.sha256(data).hexdigest()
        except Exception:  # the reader parses again and reports the fault in its own words
            self.batch = None


_lock = threading.Lock()
_early: _Early | None = None


def early_input(argv: Sequence[str]) -> tuple[Path, str | None] | None:
    """The workbook a command line will read with the pandas reader, and its ``--sheet``; None when unsure.

    A guess from the words alone (the CLI's parser imports pandas): the subcommand is segment, clv or backtest; no
    ``--engine`` other than pandas or auto; exactly one existing ``.xlsx``/``.xlsm`` file given as a positional
    word (the first word after the subcommand, or a word after an option's value; never the word after an
    option, such as ``--out report.xlsx``)."""
    words = list(argv)
    if not words or words[0] not in _READING_COMMANDS:
        return None
    sheet: str | None = None
    found: list[Path] = []
    for i, word in enumerate(words[1:], start=1):
        before = words[i - 1]
        if before == "--engine" and word not in ("pandas", "auto"):
            return None
        if word.startswith("--engine=") and word.split("=", 1)[1] not in ("pandas", "auto"):
            return None
        if before == "--sheet":
            sheet = word
        elif word.startswith("--sheet="):
            sheet = word.split("=", 1)[1]
        if word.startswith("-") or (i > 1 and before.startswith("-")):
            continue
        if word.lower().endswith((".xlsx", ".xlsm")) and Path(word).is_file():
            found.append(Path(word))
    return (found[0], sheet) if len(found) == 1 else None


def start_early(argv: Sequence[str]) -> bool:
    """Start parsing the workbook ``argv`` names (:func:`early_input`) on a thread; whether one was started."""
    global _early
    guess = early_input(argv)
    if guess is None:
        return False
    job = _Early(*guess)
    with _lock:
        _early = job
    job.thread.start()
    return True


def take_early(digest: str, sheet: str) -> Any:
    """The sheet parsed early when it is sheet ``sheet`` of the file whose SHA-256 is ``digest``; else None.

    Waits for the parse to finish; hands it out once (later calls get None)."""
    global _early
    with _lock:
        job, _early = _early, None
    if job is None:
        return None
    job.thread.join()
    return job.batch if job.digest == digest and job.sheet == sheet else None
