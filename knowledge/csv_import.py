"""Import offers from a simple spreadsheet (CSV), with a row-level error report.

Format: UTF-8 (a BOM from Excel is fine), one offer per row, the first row names the columns. The
delimiter is whatever the header uses: comma, semicolon (Danish Excel) or tab. Inside a cell, lists
are separated by ";" (quote the cell if the file itself uses ";"). Column order does not matter;
unknown columns are an error (a typo would otherwise lose data silently).

  column                         required  value
  id                             yes       stable id: lower-case letters, digits, "-" (e.g. aeldre-sagen-besoegsven)
  organisation                   yes       who runs the offer
  title_da, summary_da           yes       Danish title and one-sentence summary
  title_<l>, summary_<l>         no        same in l = ar, so, tr, fa, en
  how_to_join_<l>                no        how to join, l = da, ar, so, tr, fa, en
  topics                         yes       topic slugs from knowledge/topics.py, e.g. "loneliness; elderly"
  target_groups                  no        target-group slugs, e.g. "elderly; caregivers"
  scope                          yes       local, regional or national
  municipalities                 no        municipality names as in the gazetteer, e.g. "Aarhus; Odder"
  region                         no        Hovedstaden, Sjælland, Syddanmark, Midtjylland or Nordjylland
  address                        no        free text
  lat, lon                       no        WGS84 decimal degrees (both or neither)
  languages                      no        ISO 639-1 codes of languages staff speak, e.g. "da; ar" (default da)
  cost                           no        free, paid or unknown (default unknown)
  cost_note                      no        free text
  referral                       no        self, gp, municipality, hospital or unknown (default unknown)
  phone, email, url              no        only as a source gives them; never made up
  hours                          no        free text
  sources                        no        where the facts come from (URLs), ";"-separated
  last_verified                  no        YYYY-MM-DD, the date the source was seen
  verified, demo                 no        true/false (also yes/no, ja/nej, 1/0); default false

Rows are numbered as a spreadsheet shows them: the header is row 1, the first offer row 2. Every problem
is reported as (row, column, message); nothing is imported unless every row is valid.
"""

import csv
import io
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from knowledge.catalogue import Offer, Problem, validate_offer
from knowledge.topics import TEXT_LANGUAGES

REQUIRED = ("id", "organisation", "title_da", "summary_da", "topics", "scope")
TEXT_COLUMNS = {f"{name}_{language}": (name, language)
                for name in ("title", "summary", "how_to_join") for language in TEXT_LANGUAGES}
LIST_COLUMNS = ("topics", "target_groups", "municipalities", "languages", "sources")
PLAIN_COLUMNS = ("id", "organisation", "scope", "region", "address", "lat", "lon", "cost", "cost_note", "referral",
                 "phone", "email", "url", "hours", "last_verified", "verified", "demo", "notes")
COLUMNS = (*PLAIN_COLUMNS, *LIST_COLUMNS, *TEXT_COLUMNS)
_TRUE, _FALSE = {"true", "yes", "ja", "1", "x"}, {"false", "no", "nej", "0", ""}


@dataclass
class CsvImport:
    offers: list[Offer] = field(default_factory=list)
    problems: list[Problem] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.problems


def _split(cell: str) -> list[str]:
    return [part.strip() for part in cell.split(";") if part.strip()]


def _bool(cell: str) -> bool:
    value = cell.strip().lower()
    if value in _TRUE:
        return True
    if value in _FALSE:
        return False
    raise ValueError(f"'{cell}' is not true or false")


def _column_of(problem_field: str, message: str) -> str:
    """The spreadsheet column a schema error belongs to."""
    parts = problem_field.split(".")
    head = parts[0]
    if head in ("title", "summary", "how_to_join"):
        language = parts[1] if len(parts) > 1 and parts[1] in TEXT_LANGUAGES else "da"
        return f"{head}_{language}"
    if head == "where":
        if len(parts) > 1:
            return parts[1]
        for column in ("municipalities", "region"):
            if message.startswith(f"{column}:"):
                return column
        return "scope"
    if head == "contact" and len(parts) > 1:
        return parts[1]
    if head == "coordinates":
        return "lat" if len(parts) < 2 or parts[1] == "lat" else "lon"
    return head


def row_to_data(row: dict[str, str]) -> tuple[dict[str, Any], list[tuple[str, str]]]:
    """One spreadsheet row as catalogue data, and (column, message) for cells that cannot be read."""
    cell = {key: (value or "").strip() for key, value in row.items()}
    errors: list[tuple[str, str]] = []
    data: dict[str, Any] = {"title": {}, "summary": {}, "how_to_join": {}}
    for column, (name, language) in TEXT_COLUMNS.items():
        if cell.get(column):
            data[name][language] = cell[column]
    for column in ("address", "cost_note", "hours", "notes"):
        data[column] = cell.get(column) or None
    data["id"] = cell.get("id", "")
    data["organisation"] = cell.get("organisation", "")
    for column in ("topics", "target_groups", "languages", "sources"):
        if cell.get(column):
            data[column] = _split(cell[column])
    data["where"] = {"scope": cell.get("scope", ""), "municipalities": _split(cell.get("municipalities", "")),
                     "region": cell.get("region") or None}
    for column in ("cost", "referral", "last_verified"):
        if cell.get(column):
            data[column] = cell[column]
    data["contact"] = {key: cell.get(key) or None for key in ("phone", "email", "url")}
    for column in ("verified", "demo"):
        try:
            data[column] = _bool(cell.get(column, ""))
        except ValueError as exc:
            errors.append((column, str(exc)))
    lat, lon = cell.get("lat", ""), cell.get("lon", "")
    if lat or lon:
        if not (lat and lon):
            errors.append(("lat" if not lat else "lon", "give both lat and lon, or neither"))
        else:
            try:
                data["coordinates"] = {"lat": float(lat.replace(",", ".")), "lon": float(lon.replace(",", "."))}
            except ValueError:
                errors.append(("lat", f"'{lat}, {lon}' are not decimal degrees"))
    return data, errors


def _delimiter(header_line: str) -> str:
    return max([",", ";", "\t"], key=header_line.count)


def _numbered_rows(reader: csv.DictReader, problems: list[Problem], source: str):
    """(spreadsheet row number, row) for each data row. A row the csv module cannot read (a cell over its
    size limit) ends the reading with a problem: where the next row starts is no longer certain."""
    number = 1
    while True:
        try:
            row = next(reader)
        except StopIteration:
            return
        except csv.Error as exc:
            problems.append(Problem(source, f"row {number + 1}", "", f"not readable as CSV: {exc}"))
            return
        number += 1
        yield number, row


def read_csv_text(text: str, source: str = "CSV") -> CsvImport:
    result = CsvImport()
    text = text.lstrip("\ufeff")
    lines = text.splitlines()
    if not lines or not lines[0].strip():
        result.problems.append(Problem(source, "row 1", "", "empty file: no header row"))
        return result
    reader = csv.DictReader(io.StringIO(text, newline=""), delimiter=_delimiter(lines[0]))
    try:
        header = [name.strip() for name in reader.fieldnames or []]
    except csv.Error as exc:  # e.g. a "header" that is one huge cell: not a spreadsheet at all
        result.problems.append(Problem(source, "row 1", "", f"not readable as CSV: {exc}"))
        return result
    reader.fieldnames = header
    unknown = [name for name in header if name not in COLUMNS]
    missing = [name for name in REQUIRED if name not in header]
    duplicated = sorted({name for name in header if header.count(name) > 1})
    for name in unknown:
        result.problems.append(Problem(source, "row 1", name, "unknown column (see knowledge/csv_import.py)"))
    for name in missing:
        result.problems.append(Problem(source, "row 1", name, "required column missing"))
    for name in duplicated:
        result.problems.append(Problem(source, "row 1", name, "column appears twice"))
    if result.problems:
        return result
    first_row: dict[str, int] = {}
    for number, row in _numbered_rows(reader, result.problems, source):
        where = f"row {number}"
        if None in row:  # more cells than header columns
            result.problems.append(Problem(source, where, "", f"{len(row[None])} cell(s) more than the header has"))
            continue
        if not any((value or "").strip() for value in row.values()):
            continue  # blank line
        data, errors = row_to_data(row)
        for column, message in errors:
            result.problems.append(Problem(source, where, column, message))
        offer, problems = validate_offer(data, source, where)
        for problem in problems:
            result.problems.append(Problem(source, where, _column_of(problem.field, problem.message), problem.message))
        if offer is None or errors:
            continue
        if offer.id in first_row:
            result.problems.append(Problem(source, where, "id",
                                           f"duplicate id '{offer.id}' (first in row {first_row[offer.id]})"))
            continue
        first_row[offer.id] = number
        result.offers.append(offer)
    if not result.offers and not result.problems:
        result.problems.append(Problem(source, "row 2", "", "no offers in the file"))
    return result


def read_csv(path: Path) -> CsvImport:
    try:
        text = Path(path).read_text(encoding="utf-8-sig")
    except UnicodeDecodeError as exc:
        return CsvImport(problems=[Problem(str(path), "file", "", f"not UTF-8 text ({exc.reason}); save as CSV UTF-8")])
    except OSError as exc:
        return CsvImport(problems=[Problem(str(path), "file", "", f"cannot read: {exc}")])
    return read_csv_text(text, source=str(path))


def offers_to_csv(offers: list[Offer]) -> str:
    """Offers in the import format (a template and a way to edit the catalogue in a spreadsheet)."""
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=COLUMNS, lineterminator="\n")
    writer.writeheader()
    for offer in offers:
        row: dict[str, Any] = {
            "id": offer.id, "organisation": offer.organisation, "scope": offer.where.scope,
            "region": offer.where.region or "", "address": offer.address or "",
            "lat": offer.coordinates.lat if offer.coordinates else "",
            "lon": offer.coordinates.lon if offer.coordinates else "",
            "cost": offer.cost, "cost_note": offer.cost_note or "", "referral": offer.referral,
            "phone": offer.contact.phone or "", "email": offer.contact.email or "", "url": offer.contact.url or "",
            "hours": offer.hours or "", "last_verified": offer.last_verified.isoformat() if offer.last_verified else "",
            "verified": str(offer.verified).lower(), "demo": str(offer.demo).lower(), "notes": offer.notes or "",
            "topics": "; ".join(offer.topics), "target_groups": "; ".join(offer.target_groups),
            "municipalities": "; ".join(offer.where.municipalities), "languages": "; ".join(offer.languages),
            "sources": "; ".join(offer.sources),
        }
        for column, (name, language) in TEXT_COLUMNS.items():
            row[column] = getattr(offer, name).get(language, "")
        writer.writerow(row)
    return out.getvalue()
