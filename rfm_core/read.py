"""Read stage: file bytes or a path into a raw table. Nothing is interpreted yet; cells stay text.

Formats are recognised by their content, not their name: ``PK`` (XLSX/XLSM), ``PAR1`` (Parquet), the OLE
signature (encrypted or legacy workbooks, refused with advice), otherwise delimited text. CSV is parsed by
pyarrow (all columns as text, so ids such as ``00123`` and ``C536379`` survive), XLSX by fastexcel (calamine),
which is ~20x faster than openpyxl on the reference workload.
"""

from __future__ import annotations

import codecs
import csv
import hashlib
import io
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pacsv

from .columns import HEAD_SCORE, SYNONYMS, match_header, normalise_header
from .errors import InputFileError
from .settings import ReadOptions
from .workbook import check_zip, load_sheet_text, take_early

__all__ = ["RawTable", "Source", "detect_format", "file_sha256", "list_sheets", "read_table"]

Source = str | Path | bytes
Progress = Callable[[str], None]

_KNOWN_HEADERS = {s for spellings in SYNONYMS.values() for s in spellings}
_DELIMITERS = (",", ";", "\t", "|")
_HEADER_SCAN_ROWS = 30


@dataclass(frozen=True)
class RawTable:
    """A table as read: text cells (typed cells for Parquet), original headers, and where it came from."""

    frame: pd.DataFrame
    name: str
    fmt: str
    sha256: str
    sheet: str | None = None
    sheets: tuple[str, ...] = ()
    encoding: str | None = None
    delimiter: str | None = None
    header_row: int = 0
    notes: tuple[str, ...] = field(default=())
    #: Lines of a text file that were not valid UTF-8 and were decoded as cp1252 instead.
    fallback_lines: int = 0

    @property
    def decimal_comma(self) -> bool:
        """Numbers like ``2,55`` are expected in ``;``-delimited files (the European Excel export)."""
        return self.delimiter == ";"


def _load(source: Source, head_only: bool = False) -> tuple[bytes, str]:
    """The bytes (or only the first 64 KB of a path, to sniff it) and a display name."""
    if isinstance(source, bytes | bytearray | memoryview):
        return bytes(source), "upload"
    path = Path(source)
    try:
        if head_only:
            with path.open("rb") as fh:
                return fh.read(65536), path.name
        return path.read_bytes(), path.name
    except FileNotFoundError:
        raise InputFileError(f"No file at {path}. Check the path and try again.") from None
    except IsADirectoryError:
        raise InputFileError(
            f"{path} is a folder. Point at one file, or use the DuckDB or Spark engine for a folder or glob."
        ) from None
    except OSError as exc:
        raise InputFileError(f"Cannot read {path}: {exc.strerror or exc}.") from None


def detect_format(data: bytes) -> str:
    """``xlsx``, ``parquet``, ``ole`` (encrypted/legacy Excel), ``csv`` or ``empty``, from the first bytes."""
    if not data.strip():
        return "empty"
    if data[:4] == b"PK\x03\x04":
        return "xlsx"
    if data[:4] == b"PAR1":
        return "parquet"
    if data[:8] == b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1":
        return "ole"
    return "csv"


def read_table(
    source: Source,
    name: str | None = None,
    options: ReadOptions | None = None,
    progress: Progress | None = None,
) -> RawTable:
    """Read a CSV, XLSX/XLSM or Parquet file from a path or from bytes.

    Parameters
    ----------
    source : path or bytes
        The file. Bytes come from uploads; ``name`` then labels it in messages and exports.
    options : ReadOptions
        Sheet choice and safety limits.
    progress : callable, optional
        Called with a short message before each slow step.

    Returns
    -------
    RawTable
        One row per input line, headers as in the file, text cells (Parquet keeps its types).
    """
    options = options or ReadOptions()
    head, default_name = _load(source, head_only=True)
    name = name or default_name
    fmt = detect_format(head)
    if fmt == "csv" and not isinstance(source, bytes | bytearray | memoryview) and len(head) == 65536:
        # A large CSV on disk is parsed straight from the file: no second copy of it in memory, and one pass
        # over it for both its SHA-256 and its UTF-8 validity.
        digest, utf8 = _scan([Path(source)])
        if progress:
            progress(f"Reading {name} ({Path(source).stat().st_size / 1e6:.1f} MB, csv)")
        table = _read_csv(Path(source), name, digest, utf8)
        _check_rows(table, options)
        return table
    data = bytes(source) if isinstance(source, bytes | bytearray | memoryview) else _load(source)[0]
    digest = hashlib.sha256(data).hexdigest()
    fmt = detect_format(data)
    if progress:
        progress(f"Reading {name} ({len(data) / 1e6:.1f} MB, {fmt})")
    if fmt == "empty":
        raise InputFileError(f"{name} is empty. Export the transactions again and upload the file with data.")
    if fmt == "ole":
        raise InputFileError(
            f"{name} is a password-protected workbook or an old .xls file. Remove the password, or open it in "
            "Excel and save it as .xlsx or CSV, then upload it again."
        )
    if name.lower().endswith((".xlsx", ".xlsm")) and fmt == "csv":
        raise InputFileError(
            f"{name} is named like an Excel workbook but is not one (its content is not a zip-based .xlsx). "
            "Export it again from Excel, or save it as CSV."
        )
    if name.lower().endswith(".parquet") and fmt != "parquet":
        raise InputFileError(f"{name} is named like a Parquet file but is not one. Export it again.")
    if fmt == "xlsx":
        table = _read_xlsx(data, name, digest, options)
    elif fmt == "parquet":
        table = _read_parquet(data, name, digest)
    else:
        table = _read_csv(data, name, digest)
    _check_rows(table, options)
    return table


def _check_rows(table: RawTable, options: ReadOptions) -> None:
    if len(table.frame) == 0:
        raise InputFileError(
            f"{table.name} has a header row ({', '.join(map(str, list(table.frame.columns)[:8]))}) but no data rows. "
            "Export the transactions again with the data."
        )
    if len(table.frame) > options.max_rows:
        raise InputFileError(
            f"{table.name} has {len(table.frame):,} rows, more than the limit of {options.max_rows:,}. Use the CLI "
            "with --engine duckdb for files this large."
        )


def file_sha256(*paths: Path) -> str:
    """SHA-256 of one file, or of several files' bytes in the given order (a multi-file data set).

    Hashing only: the UTF-8 check of :func:`_scan` doubled the time on the file engines' path (a 494 MB CSV:
    about 2 s of decoding that nothing used)."""
    h = hashlib.sha256()
    for path in paths:
        with path.open("rb") as fh:
            for block in iter(lambda fh=fh: fh.read(1 << 22), b""):  # type: ignore[misc]
                h.update(block)
    return h.hexdigest()


def _scan(paths: list[Path]) -> tuple[str, bool]:
    """One pass over the files, in blocks: their SHA-256, and whether the bytes decode as UTF-8."""
    h = hashlib.sha256()
    decoder = codecs.getincrementaldecoder("utf-8")()
    utf8 = True
    for path in paths:
        with path.open("rb") as fh:
            for block in iter(lambda fh=fh: fh.read(1 << 22), b""):  # type: ignore[misc]
                h.update(block)
                if utf8:
                    try:
                        decoder.decode(block)
                    except UnicodeDecodeError:
                        utf8 = False
    if utf8:
        try:
            decoder.decode(b"", final=True)
        except UnicodeDecodeError:
            utf8 = False
    return h.hexdigest(), utf8


# ----------------------------------------------------------------------------------------------------- text


def _utf8_valid(data: bytes) -> bool:
    try:
        data.decode("utf-8")
        return True
    except UnicodeDecodeError:
        return False


def _sniff_encoding(head: bytes, utf8_valid: bool) -> tuple[str, str]:
    """The codec name for pyarrow and the decoded text of the first 64 KB."""
    if head.startswith(codecs.BOM_UTF8):
        return "utf8", head[3:65536].decode("utf-8", errors="ignore")
    if head.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        return "utf-16", head[:65536].decode("utf-16", errors="ignore")
    head = head[:65536]
    if b"\x00" in head:
        raise InputFileError(
            "This file contains binary data, not text: it is not a CSV. Upload a CSV, XLSX or Parquet export."
        )
    if utf8_valid:
        return "utf8", head.decode("utf-8", errors="ignore")
    try:
        return "cp1252", head.decode("cp1252")
    except UnicodeDecodeError:  # bytes cp1252 leaves undefined (0x81, 0x8d, ...): latin-1 maps every byte
        return "latin-1", head.decode("latin-1")


def _decode_lines(data: bytes) -> tuple[bytes, int, int]:
    """Text that is not valid UTF-8 as a whole, decoded line by line and re-encoded as UTF-8.

    A line that is valid UTF-8 is read as UTF-8 (so valid UTF-8 never becomes mojibake); any other line as cp1252
    (Windows-1252, what Excel and most Western shop tools write), or latin-1 for the five bytes cp1252 leaves
    undefined. Returns the UTF-8 bytes, the number of lines that needed the fallback, and the number of lines that
    held non-ASCII UTF-8.
    """
    out: list[str] = []
    fallback = utf8_lines = 0
    for line in data.split(b"\n"):
        if line.isascii():
            out.append(line.decode("ascii"))
            continue
        try:
            out.append(line.decode("utf-8"))
            utf8_lines += 1
        except UnicodeDecodeError:
            fallback += 1
            try:
                out.append(line.decode("cp1252"))
            except UnicodeDecodeError:
                out.append(line.decode("latin-1"))
    return "\n".join(out).encode("utf-8"), fallback, utf8_lines


def _sniff_delimiter(text: str) -> str:
    lines = [ln for ln in text.splitlines()[:50] if ln.strip()]
    if not lines:
        return ","
    try:
        return csv.Sniffer().sniff("\n".join(lines[:20]), delimiters="".join(_DELIMITERS)).delimiter
    except csv.Error:
        counts = {d: min(ln.count(d) for ln in lines[:20]) for d in _DELIMITERS}
        best = max(counts, key=lambda d: counts[d])
        return best if counts[best] > 0 else ","


def _header_score(cells: list[object]) -> int:
    """How many cells read as column names: a known spelling, or words that name a role (``Order Date (UTC)``)."""
    return sum(1 for c in cells if c is not None and (normalise_header(c) in _KNOWN_HEADERS
                                                       or match_header(str(c).strip()).best()[1] >= HEAD_SCORE))


def _find_header_row(rows: list[list[object]]) -> int:
    """The first row that looks like a header (two or more known column names); 0 when none does."""
    for i, row in enumerate(rows[:_HEADER_SCAN_ROWS]):
        if _header_score(row) >= 2:
            return i
    return 0


def _read_csv(data: bytes | Path, name: str, digest: str, utf8: bool | None = None) -> RawTable:
    """Parse delimited text; ``utf8`` is the whole file's UTF-8 validity when the caller already knows it."""
    head_bytes = data[:65536] if isinstance(data, bytes) else _load(data, head_only=True)[0]
    is_bom = head_bytes.startswith((codecs.BOM_UTF8, codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE))
    is_utf16 = head_bytes.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE))
    if utf8 is None:
        utf8 = _utf8_valid(data) if isinstance(data, bytes) else _scan([data])[1]
    fallback = 0
    label: str | None = None
    if not utf8 and not is_utf16 and b"\x00" not in head_bytes:
        # Not UTF-8 as a whole: decide per line (one cp1252 line must not turn every other line's "ü" into "Ã¼").
        whole = data if isinstance(data, bytes) else _load(data)[0]
        data, fallback, utf8_lines = _decode_lines(whole[3:] if whole.startswith(codecs.BOM_UTF8) else whole)
        head_bytes = data[:65536]
        utf8, is_bom = True, False
        label = "utf8+cp1252" if utf8_lines else "cp1252"
    encoding, head = _sniff_encoding(head_bytes, not is_bom and b"\x00" not in head_bytes and utf8)
    delimiter = _sniff_delimiter(head)
    try:
        head_rows = list(csv.reader(io.StringIO(head, newline=""), delimiter=delimiter))
    except csv.Error as exc:
        raise InputFileError(f"{name} is not a readable CSV ({exc}). Check that quotes are closed.") from None
    header_row = _find_header_row([list(r) for r in head_rows])
    if not head_rows or header_row >= len(head_rows):
        raise InputFileError(f"{name} has no header row. The first line must name the columns.")
    header = [h.strip() for h in head_rows[header_row]]
    if not any(header):
        raise InputFileError(f"{name} has an empty header row. The first line must name the columns.")
    names = _unique_names(header)
    try:
        table = pacsv.read_csv(
            io.BytesIO(data) if isinstance(data, bytes) else str(data),
            read_options=pacsv.ReadOptions(
                encoding=encoding, skip_rows=header_row + 1, column_names=names, block_size=1 << 24
            ),
            parse_options=pacsv.ParseOptions(
                delimiter=delimiter, newlines_in_values=True, invalid_row_handler=None
            ),
            convert_options=pacsv.ConvertOptions(
                # Dictionary-encoded text: each distinct value is stored once, and later stages parse only those.
                column_types={n: pa.dictionary(pa.int32(), pa.string()) for n in names},
                strings_can_be_null=True,
                quoted_strings_can_be_null=True,
            ),
        )
    except (pa.ArrowInvalid, pa.ArrowNotImplementedError, UnicodeDecodeError) as exc:
        msg = str(exc).split("\n")[0]
        raise InputFileError(
            f"{name} could not be parsed as a {_delim_name(delimiter)}-delimited CSV ({msg}). Check that every "
            "line has the same number of columns and that quotes are closed."
        ) from None
    frame = table.to_pandas()
    notes = []
    if header_row:
        notes.append(f"Header found on line {header_row + 1}; the {header_row} line(s) above it were skipped.")
    if fallback:
        notes.append(f"{fallback:,} line(s) are not valid UTF-8 and were read as cp1252 (Windows-1252)"
                     + ("; the other lines as UTF-8." if label == "utf8+cp1252" else "."))
    return RawTable(frame, name, "csv", digest, encoding=label or encoding, delimiter=delimiter,
                    header_row=header_row, notes=tuple(notes), fallback_lines=fallback)


def _delim_name(d: str) -> str:
    return {",": "comma", ";": "semicolon", "\t": "tab", "|": "pipe"}.get(d, repr(d))


def _unique_names(header: list[str]) -> list[str]:
    seen: dict[str, int] = {}
    out = []
    for i, h in enumerate(header):
        base = h or f"column_{i + 1}"
        n = seen.get(base, 0)
        seen[base] = n + 1
        out.append(base if n == 0 else f"{base}_{n + 1}")
    return out


# ----------------------------------------------------------------------------------------------------- xlsx


def list_sheets(source: Source) -> tuple[str, ...]:
    """The sheet names of a workbook (empty for other formats)."""
    data, name = _load(source)
    if detect_format(data) != "xlsx":
        return ()
    return tuple(_open_workbook(data, name).sheet_names)


def _open_workbook(data: bytes, name: str):  # type: ignore[no-untyped-def]
    import fastexcel

    try:
        return fastexcel.read_excel(data)
    except Exception as exc:  # fastexcel raises its own hierarchy; all mean "cannot open"
        raise InputFileError(
            f"{name} could not be opened as a workbook ({type(exc).__name__}). Open it in Excel and save it as "
            ".xlsx or CSV."
        ) from None


class _SheetUnreadableError(Exception):
    """A sheet the workbook reader cannot parse; the message names the sheet and the reader's reason."""


def _load_sheet(  # type: ignore[no-untyped-def]
    reader, sheet: str, name: str, digest: str = ""
) -> tuple[pa.Table, int] | None:
    """Parse one sheet once: its data rows as text columns named by the header found in its first rows.

    fastexcel (calamine) parses the whole sheet whatever ``n_rows`` asks for, so a separate header peek would
    cost as much as the load itself. The sheet is loaded once without a header; the header is looked for among
    its first ``_HEADER_SCAN_ROWS`` rows, and the rows below it are the data. ``skip_rows=0`` keeps leading empty
    rows, so the row index found is the sheet's own row (row ``header_row + 1`` in Excel). When the command line
    started parsing this sheet of this file (SHA-256 ``digest``) before its imports, that parse is taken instead
    (:func:`rfm_core.workbook.take_early`).

    Returns
    -------
    (pyarrow.Table, int) or None
        One string column per sheet column (numbers and dates rendered as text, so ids such as ``00123`` or
        ``536365`` stay as written) and the 0-based header row; None for a sheet without transaction headers.

    Raises
    ------
    _SheetUnreadableError
        When the sheet cannot be parsed at all; the caller decides whether that ends the read.
    """
    early = take_early(digest, sheet) if digest else None
    try:
        batch = early if early is not None else load_sheet_text(reader, sheet)
    except Exception as exc:  # fastexcel raises its own hierarchy; all mean "cannot parse this sheet"
        raise _SheetUnreadableError(
            f"Sheet {sheet!r} of {name} could not be read ({type(exc).__name__}: {str(exc)[:120]})"
        ) from None
    head = batch.slice(0, _HEADER_SCAN_ROWS).to_pydict()
    rows = [list(cells) for cells in zip(*head.values(), strict=True)]
    header_row = _find_header_row(rows)
    if not rows or _header_score(rows[header_row]) < 2:
        return None
    headers = [str(c).strip() if c is not None else "" for c in rows[header_row]]
    table = pa.Table.from_batches([batch.slice(header_row + 1)]).rename_columns(_unique_names(headers))
    return table, header_row


def _read_xlsx(data: bytes, name: str, digest: str, options: ReadOptions) -> RawTable:
    check_zip(data, name, options.max_uncompressed_bytes)
    reader = _open_workbook(data, name)
    sheets = tuple(reader.sheet_names)
    if options.sheet is not None and options.sheet not in sheets:
        raise InputFileError(f"{name} has no sheet {options.sheet!r}; its sheets are {', '.join(sheets)}.")
    wanted = [options.sheet] if options.sheet is not None else list(sheets)
    frames: list[tuple[str, pa.Table, int]] = []
    unreadable: list[str] = []
    for sheet in wanted:
        try:
            loaded = _load_sheet(reader, sheet, name, digest)
        except _SheetUnreadableError as exc:
            if options.sheet is not None:
                raise InputFileError(f"{exc}. Save the workbook again in Excel or export the sheet as CSV.") from None
            # Looking for the transactions among several sheets: a broken sheet that is not the one wanted
            # should not stop the read, but it is said (in the notes, or in the error when nothing is found).
            unreadable.append(str(exc))
            continue
        if loaded is None:
            if options.sheet is not None:
                raise InputFileError(
                    f"Sheet {sheet!r} of {name} has no recognisable header row (customer, invoice, date, ...) "
                    "in its first 30 rows. Pick another sheet or map the columns after exporting to CSV."
                )
            continue
        frames.append((sheet, loaded[0], loaded[1]))
        if not options.all_sheets:
            break
    if not frames:
        raise InputFileError(
            f"No sheet of {name} ({', '.join(sheets)}) has a header row with transaction columns "
            "(customer, invoice, date, quantity, price) in its first 30 rows."
            + "".join(f" {u}." for u in unreadable)
        )
    notes = [f"Sheet {s!r}: header on row {h + 1}." for s, _, h in frames if h]
    notes += [f"{u}; it was skipped." for u in unreadable]
    if len(frames) == 1:
        sheet, table, header_row = frames[0]
        return RawTable(_categorical_text(table), name, "xlsx", digest, sheet=sheet, sheets=sheets,
                        header_row=header_row, notes=tuple(notes))
    columns = frames[0][1].column_names
    for sheet, table, _ in frames[1:]:
        if table.column_names != columns:
            raise InputFileError(
                f"Sheets {frames[0][0]!r} and {sheet!r} of {name} have different columns; read them one at a time."
            )
    # Sheets differ in which columns have empty cells (fastexcel marks the others "not null"): let that unify.
    frame = _categorical_text(pa.concat_tables([t for _, t, _ in frames], promote_options="default"))
    notes.append(f"Stacked {len(frames)} sheets: {', '.join(s for s, _, _ in frames)}.")
    return RawTable(frame, name, "xlsx", digest, sheet=" + ".join(s for s, _, _ in frames), sheets=sheets,
                    notes=tuple(notes))


def _categorical_text(table: pa.Table) -> pd.DataFrame:
    """Text columns as categoricals, like the CSV path, so later stages parse each distinct value once."""
    columns = [pc.dictionary_encode(col) if pa.types.is_string(col.type) or pa.types.is_large_string(col.type)
               else col for col in table.columns]
    frame: pd.DataFrame = pa.table(columns, names=table.column_names).to_pandas()
    return frame


# -------------------------------------------------------------------------------------------------- parquet


def _read_parquet(data: bytes, name: str, digest: str) -> RawTable:
    import pyarrow.parquet as pq

    try:
        schema = pq.read_schema(io.BytesIO(data))
        text = [f.name for f in schema if pa.types.is_string(f.type) or pa.types.is_large_string(f.type)]
        # Text dictionary-encoded as it is read, like the CSV path: the mapping stage parses distinct values only.
        table = pq.read_table(io.BytesIO(data), read_dictionary=text)
    except (pa.ArrowInvalid, OSError) as exc:
        raise InputFileError(f"{name} is not a readable Parquet file ({str(exc)[:120]}). Export it again.") from None
    frame = table.to_pandas()
    return RawTable(frame, name, "parquet", digest)
