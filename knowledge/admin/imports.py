"""Importing offers into the catalogue, all or nothing: the one path behind `brobygger catalogue import`
and `POST /api/admin/catalogue/import`.

Reading turns a source (an HSDS JSON document, our CSV, or an HSDS tabular package folder for the CLI)
into offers plus every problem found in it. Importing then checks the offers against the catalogue
directory they would join (an id defined in another file, a broken neighbouring file) and, unless it is a
dry run and only if there is no problem at all, writes the target file atomically. Either way the result
is one `ImportReport`, so the CLI prints and the API returns the same findings.
"""

import json
import threading
from dataclasses import dataclass, field
from pathlib import Path

from knowledge import csv_import, hsds
from knowledge.catalogue import CatalogueError, Offer, Problem, plan_merge, write_merge
from knowledge.topics import TEXT_LANGUAGES

# One file's content: what a request body or a single file can hold.
CONTENT_FORMATS = ("hsds", "csv")
# The CLI also reads the HSDS tabular package, which is a folder of CSV files.
FORMATS = (*CONTENT_FORMATS, "hsds-csv")
IMPORTED_FILE = "imported.yml"

# Read-check-write of a catalogue file must not interleave with another import in this process
# (two admins uploading at once would otherwise lose one of the uploads).
_write_lock = threading.Lock()


@dataclass
class ImportReport:
    """The outcome of one import. `refused_by` says which stage found the problems: the source itself
    ("input") or the catalogue it would join ("catalogue")."""

    target: Path
    offers: list[Offer] = field(default_factory=list)
    problems: list[Problem] = field(default_factory=list)
    added: int = 0
    replaced: int = 0
    written: bool = False
    refused_by: str | None = None

    @property
    def valid(self) -> bool:
        return not self.problems


def default_target(catalogue_dir: Path) -> Path:
    return Path(catalogue_dir) / IMPORTED_FILE


def guess_format(path: Path) -> str:
    """The format a file name suggests (the CLI's default)."""
    if path.suffix.lower() == ".csv":
        return "csv"
    return "hsds-csv" if path.is_dir() or path.name == "datapackage.json" else "hsds"


def _line_of(data: bytes, offset: int) -> int:
    return data.count(b"\n", 0, offset) + 1


def read_content(data: bytes, fmt: str, language: str = "da", source: str = "upload") -> tuple[list[Offer],
                                                                                                list[Problem]]:
    """Offers from one file's bytes (HSDS JSON or our CSV) and every problem found in them."""
    if fmt not in CONTENT_FORMATS:
        return [], [Problem(source, "request", "format", f"unknown format {fmt!r}: use hsds or csv")]
    if fmt == "hsds" and language not in TEXT_LANGUAGES:
        return [], [Problem(source, "request", "language",
                            f"unknown text language {language!r}: use {', '.join(TEXT_LANGUAGES)}")]
    if not data.strip():
        return [], [Problem(source, "file", "", "the file is empty")]
    if b"\x00" in data:
        # Spreadsheets (.xlsx, .ods), archives and UTF-16 text all contain NUL bytes; CSV and JSON never do.
        return [], [Problem(source, "file", "", "binary data, not a text file: send the CSV (saved as CSV UTF-8) "
                                                "or the HSDS JSON file itself")]
    try:
        text = data.decode("utf-8-sig")  # a BOM from Excel is fine
    except UnicodeDecodeError as exc:
        where = f"line {_line_of(data, exc.start)}"
        return [], [Problem(source, where, "", f"not UTF-8 text (byte 0x{data[exc.start]:02x} at position "
                                               f"{exc.start}); save the file as UTF-8 (in Excel: CSV UTF-8)")]
    if fmt == "csv":
        result = csv_import.read_csv_text(text, source=source)
        return result.offers, result.problems
    try:
        document = json.loads(text)
    except json.JSONDecodeError as exc:
        return [], [Problem(source, f"line {exc.lineno}, column {exc.colno}", "", f"not valid JSON: {exc.msg}")]
    except RecursionError:
        return [], [Problem(source, "file", "", "not HSDS: the JSON is nested too deeply")]
    result = hsds.import_document(document, text_language=language, source=source)
    return result.offers, result.problems


def read_path(path: Path, fmt: str, language: str = "da") -> tuple[list[Offer], list[Problem]]:
    """Offers from a file, or from an HSDS tabular package (a folder or its datapackage.json)."""
    source = str(path)
    if (fmt == "hsds-csv" or path.is_dir() or path.name == "datapackage.json"
            or (fmt == "hsds" and path.suffix.lower() == ".csv")):  # one table of a package: read the package
        try:
            result = hsds.import_file(path, text_language=language)
        except ValueError as exc:  # an unreadable tabular package
            return [], [Problem(source, "file", "", str(exc))]
        return result.offers, result.problems
    try:
        data = path.read_bytes()
    except OSError as exc:
        return [], [Problem(source, "file", "", f"cannot read: {exc}")]
    return read_content(data, fmt, language, source=source)


def import_offers(offers: list[Offer], problems: list[Problem], target: Path, dry_run: bool) -> ImportReport:
    """Merge read offers into `target` (add new ids, replace known ones), all or nothing.

    Nothing is written if reading found any problem, if the catalogue directory would not be valid
    afterwards, or on a dry run (which still reports what would be added and replaced).
    """
    report = ImportReport(target=Path(target), offers=list(offers), problems=list(problems))
    if report.problems:
        report.refused_by = "input"
        return report
    with _write_lock:
        try:
            plan = plan_merge(report.target, report.offers)
        except CatalogueError as exc:
            report.problems, report.refused_by = list(exc.problems), "catalogue"
            return report
        report.added, report.replaced = plan.added, plan.replaced
        if not dry_run:
            write_merge(plan)
            report.written = True
    return report
