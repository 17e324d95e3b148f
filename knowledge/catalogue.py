"""The catalogue of offers: schema, validation, loading from YAML files, hashing and atomic writing.

The catalogue is every `*.yml` file in the catalogue directory (default `knowledge/data/offers/`, setting
`catalogue_dir`, env `BROBYGGER_CATALOGUE_DIR`), read in file-name order. Each file is a YAML list of
offers in the shape of `Offer` below. Vocabularies (topics, target groups, regions, text languages) come
from `knowledge.topics`; municipalities from the places gazetteer.

Validation is strict by default. Importers of foreign data (e.g. the official HSDS examples, which
describe a service in "MyCity") validate with `context={"lenient": True}`: types and shapes are still
checked, but not the Danish vocabularies (Danish title, known topics/municipalities, coordinates inside
Denmark). Only strictly valid offers are ever written into the catalogue.

Loading collects every problem (file, entry, field, message) before failing, so one run of
`brobygger catalogue check` shows them all.
"""

import difflib
import hashlib
import json
import os
import re
import tempfile
import threading
from collections import Counter
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import date
from functools import lru_cache
from pathlib import Path
from typing import Any, Literal

import yaml
from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    ValidationError,
    ValidationInfo,
    field_validator,
    model_validator,
)

from knowledge.topics import REGIONS, TARGET_GROUPS, TEXT_LANGUAGES, TOPICS

CATALOGUE_DIR = Path(__file__).resolve().parent / "data" / "offers"
_ID = re.compile(r"^[a-z0-9]+(?:[-_][a-z0-9]+)*$")
_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
# Sources often give a site without its scheme ("www.qhus.dk"); such values are kept as given.
_URL = re.compile(r"^(?:https?://)?[^\s/@]+\.[^\s@]+$")
# A generous box around Denmark, Bornholm and Christiansø included.
_DENMARK = {"lat": (54.4, 58.0), "lon": (7.9, 15.3)}


def _lenient(info: ValidationInfo) -> bool:
    return bool(info.context and info.context.get("lenient"))


def _suggest(value: str, options: Iterable[str]) -> str:
    close = difflib.get_close_matches(value, list(options), n=1, cutoff=0.75)
    return f"; did you mean '{close[0]}'?" if close else ""


@lru_cache(maxsize=1)
def _known_language_codes() -> frozenset[str]:
    """ISO 639-1 and ISO 639-3 codes (pycountry's copy of the ISO tables)."""
    import pycountry

    codes = set()
    for language in pycountry.languages:
        codes.update(code for code in (getattr(language, "alpha_2", None), language.alpha_3) if code)
    return frozenset(codes)


def _municipalities() -> dict[str, Any]:
    from knowledge.places import gazetteer

    return gazetteer().municipalities


def _municipality_hint(name: str) -> str:
    """A misspelt municipality gets "did you mean"; a town or district gets the municipality it lies in."""
    spelling = _suggest(name, _municipalities())
    try:
        from knowledge.places import gazetteer

        found = gazetteer().find(name)
    except Exception:  # the hint is a courtesy; never let it hide the real error
        found = None
    if found is not None and f"'{found.name}'" not in spelling:
        return f"; '{name}' lies in {found.name} municipality"
    return spelling


def _optional_text(value: Any) -> Any:
    """Blank strings mean "not given"."""
    if isinstance(value, str):
        value = value.strip()
        return value or None
    return value


def _texts(value: Any, info: ValidationInfo) -> Any:
    """A per-language text map: known language codes, stripped non-empty values, in TEXT_LANGUAGES order."""
    if value is None:
        return {}
    if not isinstance(value, dict):
        return value  # pydantic reports the type error
    unknown = [str(code) for code in value if code not in TEXT_LANGUAGES]
    if unknown:
        raise ValueError(f"unknown text language(s) {', '.join(unknown)}; use {', '.join(TEXT_LANGUAGES)}")
    cleaned = {}
    for code in TEXT_LANGUAGES:
        text = value.get(code)
        if text is None:
            continue
        if not isinstance(text, str):
            raise ValueError(f"{code}: expected text, got {type(text).__name__}")
        if text.strip():
            cleaned[code] = " ".join(text.split())
    return cleaned


class Where(BaseModel):
    model_config = ConfigDict(extra="forbid")

    scope: Literal["local", "regional", "national"]
    municipalities: list[str] = Field(default_factory=list)
    region: str | None = None

    @field_validator("municipalities", mode="before")
    @classmethod
    def _none_is_empty(cls, value: Any) -> Any:
        return [] if value is None else value

    @field_validator("region", mode="before")
    @classmethod
    def _blank_region(cls, value: Any) -> Any:
        return _optional_text(value)

    @model_validator(mode="after")
    def _consistent(self, info: ValidationInfo) -> "Where":
        if len(set(self.municipalities)) != len(self.municipalities):
            raise ValueError("municipalities: listed twice")
        if _lenient(info):
            return self
        known = _municipalities()
        for name in self.municipalities:
            if name not in known:
                raise ValueError(f"municipalities: unknown municipality '{name}'{_municipality_hint(name)}")
        if self.region is not None and self.region not in REGIONS:
            hint = _suggest(self.region, REGIONS)
            raise ValueError(f"region: unknown region '{self.region}'{hint} (regions: {', '.join(REGIONS)})")
        if self.scope == "local" and not self.municipalities:
            raise ValueError("municipalities: a local offer names at least one municipality")
        if self.scope == "regional" and self.region is None:
            raise ValueError("region: a regional offer names its region")
        if self.scope == "national" and (self.municipalities or self.region):
            raise ValueError("a national offer lists no municipalities or region (use scope local or regional)")
        if self.region is not None:
            outside = [name for name in self.municipalities if known[name].region != self.region]
            if outside:
                raise ValueError(f"municipalities: {', '.join(outside)} not in region {self.region}")
        return self


class Coordinates(BaseModel):
    model_config = ConfigDict(extra="forbid")

    lat: float
    lon: float

    @model_validator(mode="after")
    def _in_denmark(self, info: ValidationInfo) -> "Coordinates":
        if not _lenient(info):
            (lat_lo, lat_hi), (lon_lo, lon_hi) = _DENMARK["lat"], _DENMARK["lon"]
            if not (lat_lo <= self.lat <= lat_hi and lon_lo <= self.lon <= lon_hi):
                raise ValueError(f"({self.lat}, {self.lon}) is not in Denmark (lat then lon, WGS84)")
        return self


class Contact(BaseModel):
    model_config = ConfigDict(extra="forbid")

    phone: str | None = None
    email: str | None = None
    url: str | None = None

    @field_validator("phone", "email", "url", mode="before")
    @classmethod
    def _blank(cls, value: Any) -> Any:
        if isinstance(value, int):  # YAML reads an unspaced number as an int
            value = str(value)
        return _optional_text(value)

    @field_validator("email")
    @classmethod
    def _email(cls, value: str | None) -> str | None:
        if value is not None and not _EMAIL.match(value):
            raise ValueError(f"'{value}' is not an e-mail address")
        return value

    @field_validator("url")
    @classmethod
    def _url(cls, value: str | None) -> str | None:
        if value is not None and not _URL.match(value):
            raise ValueError(f"'{value}' is not a web address (https://… or a bare domain such as www.example.dk)")
        return value

    def best(self) -> str | None:
        """The one way to reach the offer that fits a short message."""
        return self.phone or self.url or self.email


class Offer(BaseModel):
    model_config = ConfigDict(extra="forbid")

    id: str
    organisation: str
    title: dict[str, str]
    summary: dict[str, str]
    topics: list[str]
    target_groups: list[str] = Field(default_factory=list)
    where: Where
    address: str | None = None
    coordinates: Coordinates | None = None
    languages: list[str] = Field(default_factory=lambda: ["da"])
    cost: Literal["free", "paid", "unknown"] = "unknown"
    cost_note: str | None = None
    referral: Literal["self", "gp", "municipality", "hospital", "unknown"] = "unknown"
    how_to_join: dict[str, str] = Field(default_factory=dict)
    contact: Contact = Field(default_factory=Contact)
    hours: str | None = None
    sources: list[str] = Field(default_factory=list)
    last_verified: date | None = None
    verified: bool = False
    demo: bool = False  # demo-only entry: shown with a notice, never presented as a real offer
    notes: str | None = None

    @field_validator("id")
    @classmethod
    def _id(cls, value: str) -> str:
        if not _ID.match(value):
            raise ValueError(f"'{value}' is not a stable id (lower-case letters, digits, '-' or '_')")
        return value

    @field_validator("organisation")
    @classmethod
    def _organisation(cls, value: str) -> str:
        value = " ".join(value.split())
        if not value:
            raise ValueError("organisation is empty")
        return value

    @field_validator("address", "cost_note", "hours", "notes", mode="before")
    @classmethod
    def _blank(cls, value: Any) -> Any:
        return _optional_text(value)

    @field_validator("title", "summary", "how_to_join", mode="before")
    @classmethod
    def _text_maps(cls, value: Any, info: ValidationInfo) -> Any:
        return _texts(value, info)

    @field_validator("title", "summary")
    @classmethod
    def _danish_required(cls, value: dict[str, str], info: ValidationInfo) -> dict[str, str]:
        if not value:
            raise ValueError("no text in any language")
        if "da" not in value and not _lenient(info):
            raise ValueError("Danish (da) is required")
        return value

    @field_validator("topics", "target_groups", "languages", "sources", mode="before")
    @classmethod
    def _lists(cls, value: Any) -> Any:
        return [] if value is None else value

    @field_validator("topics")
    @classmethod
    def _topics(cls, value: list[str], info: ValidationInfo) -> list[str]:
        if len(set(value)) != len(value):
            raise ValueError("a topic is listed twice")
        if _lenient(info):
            return value
        if not value:
            raise ValueError("an offer has at least one topic")
        for topic in value:
            if topic not in TOPICS:
                raise ValueError(f"unknown topic '{topic}'{_suggest(topic, TOPICS)} (topics: knowledge/topics.py)")
        return value

    @field_validator("target_groups")
    @classmethod
    def _target_groups(cls, value: list[str], info: ValidationInfo) -> list[str]:
        if len(set(value)) != len(value):
            raise ValueError("a target group is listed twice")
        if not _lenient(info):
            for group in value:
                if group not in TARGET_GROUPS:
                    raise ValueError(
                        f"unknown target group '{group}'{_suggest(group, TARGET_GROUPS)} (slugs: knowledge/topics.py)"
                    )
        return value

    @field_validator("languages")
    @classmethod
    def _languages(cls, value: list[str], info: ValidationInfo) -> list[str]:
        if len(set(value)) != len(value):
            raise ValueError("a language is listed twice")
        if not _lenient(info):
            for code in value:
                if code not in _known_language_codes():
                    raise ValueError(f"'{code}' is not an ISO 639-1/639-3 language code (e.g. da, ar, so, tr, fa, en)")
        return value

    @field_validator("sources")
    @classmethod
    def _sources(cls, value: list[str]) -> list[str]:
        cleaned = [" ".join(source.split()) for source in value]
        if any(not source for source in cleaned):
            raise ValueError("an empty source")
        return cleaned

    @field_validator("last_verified")
    @classmethod
    def _not_future(cls, value: date | None, info: ValidationInfo) -> date | None:
        if value is not None and value > date.today() and not _lenient(info):
            raise ValueError(f"{value} is in the future")
        return value

    def localized(self, field: str, language: str) -> str:
        """A per-language field in the citizen's language, else English, else Danish."""
        values: dict[str, str] = getattr(self, field)
        return values.get(language) or values.get("en") or values.get("da") or ""

    def card(self, language: str, score: float | None = None) -> dict:
        """The public shape of an offer (API `Offer`, rendering input)."""
        return {
            "id": self.id,
            "title": self.localized("title", language),
            "summary": self.localized("summary", language),
            "topics": self.topics,
            "municipality": ", ".join(self.where.municipalities) or None,
            "region": self.where.region,
            "scope": self.where.scope,
            "languages": self.languages,
            "contact": self.contact.best(),
            # Each way of reaching the offer, for the web chat's call / website / e-mail buttons.
            "phone": self.contact.phone,
            "email": self.contact.email,
            "url": self.contact.url,
            "address": self.address,
            "coordinates": {"lat": self.coordinates.lat, "lon": self.coordinates.lon} if self.coordinates else None,
            "hours": self.hours,
            "cost": self.cost,
            "how_to_join": self.localized("how_to_join", language) or None,
            "last_verified": self.last_verified.isoformat() if self.last_verified else None,
            "verified": self.verified,
            "demo": self.demo,
            "score": round(score, 4) if score is not None else None,
        }

    def to_yaml_dict(self) -> dict[str, Any]:
        """The entry as written in a catalogue file (optional extras left out when unset)."""
        data = self.model_dump(mode="python")
        if data["coordinates"] is None:
            del data["coordinates"]
        if not data["demo"]:
            del data["demo"]
        return data


@dataclass(frozen=True)
class Problem:
    """One thing wrong with a catalogue source: where (file or row), which entry, which field, what."""

    source: str
    where: str
    field: str
    message: str

    def __str__(self) -> str:
        field = f" {self.field}:" if self.field else ""
        return f"{self.source}, {self.where}:{field} {self.message}"


class CatalogueError(ValueError):
    def __init__(self, problems: list[Problem]) -> None:
        self.problems = problems
        shown = "\n".join(f"  {problem}" for problem in problems[:50])
        more = f"\n  … and {len(problems) - 50} more" if len(problems) > 50 else ""
        super().__init__(f"{len(problems)} problem(s) in the catalogue:\n{shown}{more}")


def validation_problems(error: ValidationError, source: str, where: str) -> list[Problem]:
    """A pydantic error as problems with a dotted field path and a plain message."""
    problems = []
    for item in error.errors():
        field = ".".join(str(part) for part in item["loc"])
        message = item["msg"].removeprefix("Value error, ")
        if item["type"] == "extra_forbidden":
            message = "unknown field"
        elif item["type"] == "missing":
            message = "required field missing"
        problems.append(Problem(source, where, field, message))
    return problems


def validate_offer(data: Any, source: str, where: str, lenient: bool = False) -> tuple[Offer | None, list[Problem]]:
    if not isinstance(data, dict):
        return None, [Problem(source, where, "", f"expected a mapping of fields, got {type(data).__name__}")]
    try:
        return Offer.model_validate(data, context={"lenient": lenient}), []
    except ValidationError as exc:
        return None, validation_problems(exc, source, where)


def _entry_label(index: int, data: Any) -> str:
    label = f"entry {index + 1}"
    if isinstance(data, dict) and isinstance(data.get("id"), str):
        label += f" (id {data['id']})"
    return label


def read_offer_file(path: Path) -> tuple[list[Offer], list[Problem]]:
    """The offers of one YAML file and the problems found in it."""
    source = _display(path)
    try:
        entries = yaml.safe_load(path.read_text(encoding="utf-8"))
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f"line {mark.line + 1}" if mark is not None else "file"
        return [], [Problem(source, where, "", f"not valid YAML: {getattr(exc, 'problem', None) or exc}")]
    except OSError as exc:
        return [], [Problem(source, "file", "", f"cannot read: {exc}")]
    if entries is None:
        return [], []
    if not isinstance(entries, list):
        return [], [Problem(source, "file", "", "expected a YAML list of offers")]
    offers, problems = [], []
    for index, data in enumerate(entries):
        offer, found = validate_offer(data, source, _entry_label(index, data))
        problems += found
        if offer is not None:
            offers.append(offer)
    return offers, problems


def _display(path: Path) -> str:
    try:
        return str(path.resolve().relative_to(Path.cwd()))
    except ValueError:
        return str(path)


def catalogue_files(directory: Path) -> list[Path]:
    return sorted(path for path in directory.glob("*.yml") if path.is_file() and not path.name.startswith("."))


class Catalogue:
    def __init__(self, offers: list[Offer], origins: dict[str, str] | None = None) -> None:
        """origins maps an offer id to the file it came from (for messages)."""
        self.offers = list(offers)
        self.origins = dict(origins or {})
        self._by_id: dict[str, Offer] = {}
        problems = []
        for offer in self.offers:
            if offer.id in self._by_id:
                first = self.origins.get(offer.id, "?")
                problems.append(Problem(first, f"id {offer.id}", "id", f"duplicate id '{offer.id}'"))
            self._by_id.setdefault(offer.id, offer)
        if problems:
            raise CatalogueError(problems)

    @classmethod
    def load(cls, path: Path | None = None) -> "Catalogue":
        """Every *.yml in a catalogue directory (or one file); CatalogueError lists all problems."""
        path = Path(path) if path is not None else catalogue_dir()
        if path.is_dir():
            files = catalogue_files(path)
        elif path.is_file():
            files = [path]
        else:
            raise CatalogueError([Problem(str(path), "file", "", "no such catalogue file or directory")])
        offers: list[Offer] = []
        origins: dict[str, str] = {}
        problems: list[Problem] = []
        for file in files:
            found, file_problems = read_offer_file(file)
            problems += file_problems
            for offer in found:
                if offer.id in origins:
                    problems.append(Problem(
                        _display(file), f"id {offer.id}", "id",
                        f"duplicate id '{offer.id}': also defined in {origins[offer.id]}",
                    ))
                    continue
                origins[offer.id] = _display(file)
                offers.append(offer)
        if problems:
            raise CatalogueError(problems)
        return cls(offers, origins)

    def get(self, offer_id: str) -> Offer | None:
        return self._by_id.get(offer_id)

    def __len__(self) -> int:
        return len(self.offers)

    def __iter__(self) -> Iterator[Offer]:
        return iter(self.offers)

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Catalogue) and self.offers == other.offers

    __hash__ = None  # mutable container semantics; use content_hash()

    def content_hash(self) -> str:
        """sha256 over the offers' content in catalogue order: the same for the same data however the
        files are formatted or commented; any change to any field (or to the order) changes it."""
        digest = hashlib.sha256()
        for offer in self.offers:
            digest.update(json.dumps(offer.model_dump(mode="json"), sort_keys=True, ensure_ascii=False).encode())
            digest.update(b"\n")
        return digest.hexdigest()


def catalogue_dir() -> Path:
    """The configured catalogue directory (setting catalogue_dir / env BROBYGGER_CATALOGUE_DIR)."""
    from bot.settings import get_settings

    return Path(get_settings().catalogue_dir)


def dump_offers(offers: Iterable[Offer], header: str | None = None) -> str:
    text = yaml.safe_dump(
        [offer.to_yaml_dict() for offer in offers], allow_unicode=True, sort_keys=False, width=110,
        default_flow_style=False,
    )
    if header:
        text = "".join(f"# {line}\n" if line else "#\n" for line in header.splitlines()) + "\n" + text
    return text


def write_atomic(path: Path, text: str) -> None:
    """Write a new file beside the target, then rename it over the target (all or nothing)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as f:
            f.write(text)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


@dataclass(frozen=True)
class MergePlan:
    """What `merge_into` would write: the target file's offers after the merge, and what changed."""

    target: Path
    merged: list[Offer]
    added: int
    replaced: int


def plan_merge(target: Path, offers: list[Offer], directory: Path | None = None) -> MergePlan:
    """Check adding or replacing offers in one catalogue file, writing nothing (CatalogueError if refused).

    Offers whose id is already in the target file replace that entry; the rest are appended. The
    result is checked as part of the whole catalogue directory the file lives in (duplicate ids across
    files, broken neighbours).
    """
    directory = directory if directory is not None else target.parent
    existing: list[Offer] = []
    if target.exists():
        existing, problems = read_offer_file(target)
        if problems:
            raise CatalogueError(problems)
    incoming = {offer.id: offer for offer in offers}
    if len(incoming) != len(offers):
        counts = Counter(offer.id for offer in offers)
        raise CatalogueError([Problem("import", f"id {offer_id}", "id", f"duplicate id '{offer_id}' in the import")
                              for offer_id, n in counts.items() if n > 1])
    replaced = sum(1 for offer in existing if offer.id in incoming)
    merged = [incoming.pop(offer.id, offer) for offer in existing]
    merged += list(incoming.values())
    # Check the directory as it will be after the write: the other files plus the merged target.
    problems: list[Problem] = []
    origins: dict[str, str] = {}
    if directory.is_dir():
        for file in catalogue_files(directory):
            if file.resolve() == target.resolve():
                continue
            found, file_problems = read_offer_file(file)
            problems += file_problems
            for offer in found:
                origins.setdefault(offer.id, _display(file))
    for offer in merged:
        if offer.id in origins:
            problems.append(Problem(_display(target), f"id {offer.id}", "id",
                                    f"duplicate id '{offer.id}': already defined in {origins[offer.id]}"))
    if problems:
        raise CatalogueError(problems)
    return MergePlan(target, merged, len(merged) - len(existing), replaced)


def write_merge(plan: MergePlan) -> None:
    header = ("Brobygger catalogue file written by `brobygger catalogue import` (or the admin API's import); "
              "edit freely, keep the shape.")
    write_atomic(plan.target, dump_offers(plan.merged, header=header))


def merge_into(target: Path, offers: list[Offer], directory: Path | None = None) -> tuple[int, int]:
    """Add or replace offers in one catalogue file, all or nothing (see `plan_merge`). Returns (added, replaced)."""
    plan = plan_merge(target, offers, directory)
    write_merge(plan)
    return plan.added, plan.replaced


@dataclass(frozen=True)
class StaleOffer:
    offer: Offer
    origin: str
    age_days: int | None  # None: never verified (no last_verified)


def stale_offers(catalogue: Catalogue, max_age_days: int = 365, today: date | None = None) -> list[StaleOffer]:
    """Offers whose last_verified is missing or older than max_age_days; never-verified first, then oldest."""
    today = today or date.today()
    stale = []
    for offer in catalogue.offers:
        age = (today - offer.last_verified).days if offer.last_verified else None
        if age is None or age > max_age_days:
            stale.append(StaleOffer(offer, catalogue.origins.get(offer.id, ""), age))
    return sorted(stale, key=lambda s: (s.age_days is not None, -(s.age_days or 0), s.offer.id))


def coverage(catalogue: Catalogue) -> dict[str, Counter]:
    """Counts for `catalogue check`: offers per region/scope, topic, summary language, staff language."""
    counts: dict[str, Counter] = {key: Counter() for key in
                                  ("region", "topic", "summary_language", "staff_language", "target_group", "status")}
    for offer in catalogue.offers:
        area = offer.where.region or ("national" if offer.where.scope == "national" else "several regions")
        counts["region"][area] += 1
        counts["topic"].update(offer.topics)
        counts["summary_language"].update(offer.summary.keys())
        counts["staff_language"].update(offer.languages)
        counts["target_group"].update(offer.target_groups)
        counts["status"]["verified" if offer.verified else "not verified"] += 1
        if offer.demo:
            counts["status"]["demo"] += 1
    for topic in TOPICS:
        counts["topic"].setdefault(topic, 0)
    for region in REGIONS:
        counts["region"].setdefault(region, 0)
    for language in TEXT_LANGUAGES:
        counts["summary_language"].setdefault(language, 0)
    return counts


_loaded: dict[str, tuple[tuple, Catalogue]] = {}
_loaded_lock = threading.Lock()


def load_catalogue(path: Path) -> Catalogue:
    """Catalogue.load(path), kept per process while its files are unchanged: loading and validating the
    224 offers takes ~1 s, and every app (and test app) built in one process needs them."""
    path = Path(path)
    files = catalogue_files(path) if path.is_dir() else [path]
    try:
        stats = [(file.name, file.stat()) for file in files]
    except OSError:  # a file went away while we looked: load (and report) it as it is now
        return Catalogue.load(path)
    stamp = tuple((name, stat.st_mtime_ns, stat.st_size) for name, stat in stats)
    key = str(path.resolve())
    with _loaded_lock:
        if key in _loaded and _loaded[key][0] == stamp:
            return _loaded[key][1]
    catalogue = Catalogue.load(path)
    with _loaded_lock:
        _loaded[key] = (stamp, catalogue)
    return catalogue


def default_catalogue() -> Catalogue:
    """The configured catalogue folder's offers (setting catalogue_dir)."""
    return load_catalogue(catalogue_dir())
