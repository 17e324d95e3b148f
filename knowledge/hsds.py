"""Open Referral HSDS 3.0 import and export of the catalogue (JSON and the tabular CSV package).

Export writes one JSON document shaped like an HSDS API page (`total_items`, `contents`, …) whose
`contents` are organizations, each with its `services` nested in full. Every organization validates
against the official compiled `organization` schema and every service against the compiled `service`
schema (`shared/hsds/schema/compiled/`, checked with `jsonschema` incl. uuid/email/date formats).

Import reads such a page, a single service or organization (`examples/service_full.json`), a list of
them, or a tabular data package folder (`examples/csv/`: organizations.csv, services.csv, …, joined on
their `*_id` columns into the same nested shape). `export_tabular` writes the same data as such a
package (one CSV per table and a datapackage.json).

How an offer maps to HSDS (service ↔ offer)
  id               service.id = uuid5(offer id) (HSDS wants UUIDs); our slug in attribute `brobygger:offer_id`
  organisation     service.organization / organization.name (organization.id = uuid5(name))
  title            service.name (Danish) + translations (below)
  summary          service.description (Danish) + translations
  how_to_join      service.application_process (Danish) + translations
  topics           attributes, link_type "topic", taxonomy_term {code: slug, taxonomy "brobygger:topics"}
  target_groups    attributes, link_type "target_group", taxonomy "brobygger:target_groups"
  where            service_areas: one per municipality (description "kommune"), one for the region
                   ("region"), "Danmark" ("national") for national offers; scope in `brobygger:scope`
  address          service_at_locations[0].location (physical) .addresses[0]: address_1 = the address
                   as written, city / postal_code only where they appear in it, country DK
  coordinates      that location's latitude / longitude
  languages        service.languages [{code (ISO 639-1), name}]
  cost             cost_options: free → {amount 0, currency DKK, option "free"}; paid → {option "paid"};
                   unknown → none.   cost_note → service.fees_description
  referral         attribute `brobygger:referral`
  contact          phone → service.phones[0].number; email → service.email; url → service.url (a bare
                   domain gets https:// there and is kept as given in `brobygger:url_as_given`)
  hours            service.schedules[0].description (HSDS allows a free-text schedule description)
  last_verified    service.assured_date ("the date the information about the service was last checked")
  sources, notes, verified, demo   attributes `brobygger:source` (one per source), `:note`, `:verified`, `:demo`

Translations. HSDS 3.0 has one text per field and no translation tables. The spec's extension point
for anything the core tables do not carry is the attribute: a link to a taxonomy term plus a free
`value`, and a taxonomy term carries a `language` (ISO 639). So each non-Danish title, summary and
how_to_join is an attribute with link_type "translation", `value` = the text, and a term from the
taxonomy "brobygger:translations" with code `title` / `summary` / `how_to_join` and `language` = the
text's language. Consumers that ignore attributes still see complete Danish records.

Foreign data (no `brobygger:` attributes) maps the other way round: texts are taken to be in
`text_language`; phone/e-mail/url fall back from the service to its contacts, locations and
organization; hours join the schedule descriptions; a service area's name is where it is offered; an
`alert` becomes a note; languages are the service's plus its locations'. Such records are validated
strictly (Danish vocabularies) unless the caller asks for lenient validation — the official examples
describe a counselling service in "MyCity" and only import leniently.
"""

import csv
import io
import json
import os
import re
import uuid
from collections.abc import Iterable
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Any

from knowledge.catalogue import Offer, Problem, validate_offer
from knowledge.topics import REGIONS, TARGET_GROUP_LABELS, TOPIC_LABELS

# Fixed namespace: the same offer always gets the same HSDS UUIDs.
NAMESPACE = uuid.UUID("6f4f5a52-6f3e-5b1a-9a57-62726f627967")
TRANSLATED_FIELDS = {"title": "name", "summary": "description", "how_to_join": "application_process"}
_OURS = "brobygger:"
_AREA_MUNICIPALITY, _AREA_REGION, _AREA_NATIONAL = "kommune", "region", "national"
_SCHEME = re.compile(r"^https?://", re.IGNORECASE)


def _uuid(*parts: str) -> str:
    return str(uuid.uuid5(NAMESPACE, ":".join(parts)))


# --- locating the official schemas ------------------------------------------------------------------

def shared_dir() -> Path:
    """The shared folder (facts, sources, HSDS schemas): $BROBYGGER_SHARED_DIR, <repo>/../shared, /work/shared."""
    configured = os.environ.get("BROBYGGER_SHARED_DIR")
    if configured:
        if Path(configured).is_dir():
            return Path(configured)
        raise FileNotFoundError(f"BROBYGGER_SHARED_DIR={configured} is not a folder")
    candidates = [Path(__file__).resolve().parent.parent.parent / "shared", Path("/work/shared")]
    for candidate in candidates:
        if candidate.is_dir():
            return candidate
    tried = ", ".join(str(c) for c in candidates)
    raise FileNotFoundError(f"shared folder not found (tried {tried}); set BROBYGGER_SHARED_DIR")


def schema_dir() -> Path:
    path = shared_dir() / "hsds" / "schema" / "compiled"
    if not (path / "service.json").is_file():
        raise FileNotFoundError(f"HSDS compiled schemas not found in {path}")
    return path


@lru_cache(maxsize=4)
def _validator(kind: str):
    from jsonschema import Draft202012Validator

    schema = json.loads((schema_dir() / f"{kind}.json").read_text(encoding="utf-8"))
    return Draft202012Validator(schema, format_checker=Draft202012Validator.FORMAT_CHECKER)


def schema_errors(document: dict, kind: str) -> list[str]:
    """What the official compiled schema (`service` or `organization`) says is wrong; [] when valid."""
    return [
        f"{'/'.join(str(p) for p in error.absolute_path) or '(top)'}: {error.message}"
        for error in sorted(_validator(kind).iter_errors(document), key=lambda e: list(map(str, e.absolute_path)))
    ]


def export_errors(document: dict) -> list[str]:
    """Validate every organization and every service of an exported page."""
    problems = []
    for organization in document.get("contents", []):
        name = organization.get("name")
        problems += [f"organization {name!r}: {e}" for e in schema_errors(organization, "organization")]
        for service in organization.get("services", []):
            problems += [f"service {service.get('name')!r}: {e}" for e in schema_errors(service, "service")]
    return problems


# --- export ---------------------------------------------------------------------------------------

def _language_name(code: str) -> str:
    import pycountry

    found = pycountry.languages.get(alpha_2=code) if len(code) == 2 else pycountry.languages.get(alpha_3=code)
    return found.name if found else code


def _term(taxonomy: str, code: str, name: str, description: str, language: str | None = None) -> dict:
    term = {"id": _uuid("term", taxonomy, code, language or ""), "code": code, "name": name,
            "description": description, "taxonomy": _OURS + taxonomy}
    if language:
        term["language"] = language
    return term


def _attribute(owner: str, link_type: str, term: dict, value: str | None = None, n: int = 0) -> dict:
    attribute = {"id": _uuid("attribute", owner, term["id"], str(n)), "link_id": owner, "link_type": link_type,
                 "link_entity": "service", "taxonomy_term_id": term["id"], "taxonomy_term": term}
    if value is not None:
        attribute["value"] = value
    return attribute


def _field_attribute(owner: str, name: str, value: str, n: int = 0) -> dict:
    term = _term("fields", name, name, f"Brobygger catalogue field '{name}'")
    return _attribute(owner, _OURS + name, term, value, n)


def _areas(offer: Offer, service_id: str) -> list[dict]:
    areas = [(name, _AREA_MUNICIPALITY) for name in offer.where.municipalities]
    if offer.where.region:
        areas.append((offer.where.region, _AREA_REGION))
    if offer.where.scope == "national":
        areas.append(("Danmark", _AREA_NATIONAL))
    return [{"id": _uuid("area", service_id, name), "service_id": service_id, "name": name, "description": kind}
            for name, kind in areas]


def _location(offer: Offer, service_id: str) -> dict | None:
    if offer.address is None and offer.coordinates is None:
        return None
    location_id = _uuid("location", service_id)
    location: dict[str, Any] = {"id": location_id, "location_type": "physical"}
    if offer.coordinates is not None:
        location["latitude"] = offer.coordinates.lat
        location["longitude"] = offer.coordinates.lon
    if offer.address is not None:
        postcode = re.search(r"(?<!\d)\d{4}(?!\d)", offer.address)
        cities = [name for name in offer.where.municipalities if name in offer.address]
        location["addresses"] = [{
            "id": _uuid("address", service_id), "location_id": location_id, "address_1": offer.address,
            "city": cities[0] if cities else "", "state_province": offer.where.region or "",
            "postal_code": postcode.group(0) if postcode else "", "country": "DK", "address_type": "physical",
        }]
    return {"id": _uuid("service_at_location", service_id), "service_id": service_id,
            "location_id": location_id, "location": location}


def service_from_offer(offer: Offer) -> dict:
    """One offer as an HSDS service (without its nested organization)."""
    sid = _uuid("service", offer.id)
    service: dict[str, Any] = {
        "id": sid,
        "organization_id": _uuid("organization", offer.organisation),
        "name": offer.title.get("da") or next(iter(offer.title.values())),
        "description": offer.summary.get("da") or next(iter(offer.summary.values())),
        "status": "active",
    }
    if offer.how_to_join.get("da"):
        service["application_process"] = offer.how_to_join["da"]
    if offer.cost_note:
        service["fees_description"] = offer.cost_note
    if offer.contact.email:
        service["email"] = offer.contact.email
    if offer.contact.url:
        url = offer.contact.url
        service["url"] = url if _SCHEME.match(url) else f"https://{url}"
    if offer.last_verified:
        service["assured_date"] = offer.last_verified.isoformat()
    if offer.contact.phone:
        service["phones"] = [{"id": _uuid("phone", sid), "service_id": sid, "number": offer.contact.phone,
                              "type": "voice"}]
    if offer.hours:
        service["schedules"] = [{"id": _uuid("schedule", sid), "service_id": sid, "description": offer.hours}]
    service["service_areas"] = _areas(offer, sid)
    location = _location(offer, sid)
    if location:
        service["service_at_locations"] = [location]
    service["languages"] = [{"id": _uuid("language", sid, code), "service_id": sid, "code": code,
                             "name": _language_name(code)} for code in offer.languages]
    if offer.cost == "free":
        service["cost_options"] = [{"id": _uuid("cost", sid), "service_id": sid, "option": "free", "amount": 0,
                                    "currency": "DKK"}]
    elif offer.cost == "paid":
        service["cost_options"] = [{"id": _uuid("cost", sid), "service_id": sid, "option": "paid",
                                    "currency": "DKK"}]

    attributes = [_field_attribute(sid, "offer_id", offer.id), _field_attribute(sid, "scope", offer.where.scope),
                  _field_attribute(sid, "referral", offer.referral),
                  _field_attribute(sid, "verified", "true" if offer.verified else "false")]
    if offer.demo:
        attributes.append(_field_attribute(sid, "demo", "true"))
    if offer.notes:
        attributes.append(_field_attribute(sid, "note", offer.notes))
    if offer.contact.url and not _SCHEME.match(offer.contact.url):
        attributes.append(_field_attribute(sid, "url_as_given", offer.contact.url))
    attributes += [_field_attribute(sid, "source", source, n) for n, source in enumerate(offer.sources)]
    for topic in offer.topics:
        english, danish = TOPIC_LABELS.get(topic, (topic, topic))
        attributes.append(_attribute(sid, "topic", _term("topics", topic, english, danish)))
    for group in offer.target_groups:
        english, danish = TARGET_GROUP_LABELS.get(group, (group, group))
        attributes.append(_attribute(sid, "target_group", _term("target_groups", group, english, danish)))
    for ours in TRANSLATED_FIELDS:
        for language, text in getattr(offer, ours).items():
            if language == "da":
                continue
            term = _term("translations", ours, ours, f"Brobygger offer {ours} in {_language_name(language)}",
                         language)
            attributes.append(_attribute(sid, "translation", term, text))
    service["attributes"] = attributes
    return service


def organization_record(name: str, services: list[dict]) -> dict:
    return {"id": _uuid("organization", name), "name": name, "description": "", "services": services}


def export_catalogue(offers: Iterable[Offer]) -> dict:
    """The catalogue as an HSDS page of organizations (first-appearance order) with their services."""
    by_organisation: dict[str, list[dict]] = {}
    for offer in offers:
        by_organisation.setdefault(offer.organisation, []).append(service_from_offer(offer))
    contents = [organization_record(name, services) for name, services in by_organisation.items()]
    return {"total_items": len(contents), "total_pages": 1, "page_number": 1, "size": len(contents),
            "first_page": True, "last_page": True, "empty": not contents, "contents": contents}


# --- import ---------------------------------------------------------------------------------------

@dataclass
class ImportResult:
    offers: list[Offer] = field(default_factory=list)
    problems: list[Problem] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.problems


def _services_of(document: Any) -> list[tuple[dict, dict | None]]:
    """(service, its organization) pairs from a page, a list, an organization or a service."""
    if isinstance(document, list):
        items = document
    elif isinstance(document, dict) and isinstance(document.get("contents"), list):
        items = document["contents"]
    else:
        items = [document]
    pairs = []
    for item in items:
        if not isinstance(item, dict):
            raise ValueError(f"expected HSDS objects, got {type(item).__name__}")
        if "status" in item:  # a service (status is required for services, absent from organizations)
            pairs.append((item, item.get("organization")))
        else:
            organization = {k: v for k, v in item.items() if k != "services"}
            services = item.get("services") or []
            if not isinstance(services, list):
                raise ValueError(f"an organization's services must be a list, got {type(services).__name__}")
            pairs += [(service, organization) for service in services]
    return pairs


def _first(*values: Any) -> Any:
    for value in values:
        if value not in (None, "", [], {}):
            return value
    return None


def _phones(*holders: dict | None) -> list[str]:
    return [phone["number"] for holder in holders if holder for phone in holder.get("phones") or []
            if phone.get("number")]


def _address(address: dict) -> str | None:
    first = (address.get("address_1") or "").strip()
    parts = [first] if first else []
    for key in ("address_2",):
        value = (address.get(key) or "").strip()
        if value and value.lower() not in first.lower():
            parts.append(value)
    town = " ".join(p for p in [(address.get("postal_code") or "").strip(), (address.get("city") or "").strip()]
                    if p and p.lower() not in first.lower())
    if town:
        parts.append(town)
    return ", ".join(parts) or None


def offer_data_from_service(service: dict, organization: dict | None, text_language: str = "da") -> dict:
    """The fields we model, read from one HSDS service (ours or anyone's)."""
    fields: dict[str, list[str]] = {}
    translations: dict[str, dict[str, str]] = {ours: {} for ours in TRANSLATED_FIELDS}
    topics, groups = [], []
    for attribute in service.get("attributes") or []:
        term = attribute.get("taxonomy_term") or {}
        taxonomy, code = term.get("taxonomy") or "", term.get("code") or ""
        if taxonomy == _OURS + "fields":
            fields.setdefault(code, []).append(attribute.get("value") or "")
        elif taxonomy == _OURS + "topics" or attribute.get("link_type") == "topic":
            topics.append(code)
        elif taxonomy == _OURS + "target_groups" or attribute.get("link_type") == "target_group":
            groups.append(code)
        elif taxonomy == _OURS + "translations" and code in translations and term.get("language"):
            translations[code][term["language"]] = attribute.get("value") or ""

    def one(name: str) -> str | None:
        return fields.get(name, [None])[0]

    def texts(ours: str) -> dict[str, str]:
        value = service.get(TRANSLATED_FIELDS[ours])
        found = {text_language: value} if value else {}
        found.update(translations[ours])
        return found

    locations = [sal.get("location") or {} for sal in service.get("service_at_locations") or []]
    contacts = service.get("contacts") or []
    organization = organization or {}

    municipalities, region = [], None
    for area in service.get("service_areas") or []:
        name, kind = (area.get("name") or "").strip(), area.get("description")
        if not name:
            continue
        if kind == _AREA_REGION or (kind != _AREA_MUNICIPALITY and name in REGIONS):
            region = name
        elif kind != _AREA_NATIONAL:
            municipalities.append(name)
    scope = one("scope") or ("local" if municipalities else "regional" if region else "national")

    address, coordinates = None, None
    for location in locations:
        if address is None:
            address = _first(*[_address(a) for a in location.get("addresses") or []])
        if coordinates is None and location.get("latitude") is not None and location.get("longitude") is not None:
            coordinates = {"lat": location["latitude"], "lon": location["longitude"]}

    languages: list[str] = []
    for holder in [service, *locations]:
        for language in holder.get("languages") or []:
            code = language.get("code")
            if code and code not in languages:
                languages.append(code)

    cost = "unknown"
    options = service.get("cost_options") or []
    labels = {str(option.get("option") or "").lower() for option in options}
    amounts = [option.get("amount") for option in options if option.get("amount") is not None]
    if "free" in labels or (amounts and all(a == 0 for a in amounts)):
        cost = "free"
    elif "paid" in labels or any(a > 0 for a in amounts):
        cost = "paid"

    schedules = service.get("schedules") or [s for sal in service.get("service_at_locations") or []
                                              for s in sal.get("schedules") or []]
    hours = "; ".join(s["description"] for s in schedules if s.get("description")) or None

    url = one("url_as_given") or _first(service.get("url"), organization.get("website"))
    verified = one("verified")
    notes = one("note")
    if notes is None and service.get("alert"):
        notes = service["alert"]
    return {
        "id": one("offer_id") or service.get("id"),
        "organisation": organization.get("name") or "",
        "title": texts("title"),
        "summary": texts("summary"),
        "topics": topics,
        "target_groups": groups,
        "where": {"scope": scope, "municipalities": municipalities, "region": region},
        "address": address,
        "coordinates": coordinates,
        "languages": languages,
        "cost": cost,
        "cost_note": _first(service.get("fees_description"), service.get("fees")),
        "referral": one("referral") or "unknown",
        "how_to_join": texts("how_to_join"),
        "contact": {
            "phone": _first(*_phones(service, *service.get("service_at_locations") or [], *contacts, *locations,
                                     organization)),
            "email": _first(service.get("email"), *[c.get("email") for c in contacts], organization.get("email")),
            "url": url,
        },
        "hours": hours,
        "sources": fields.get("source", []),
        "last_verified": (service.get("assured_date") or "")[:10] or None,
        "verified": verified == "true",
        "demo": one("demo") == "true",
        "notes": notes,
    }


def import_document(document: Any, text_language: str = "da", lenient: bool = False,
                    source: str = "HSDS") -> ImportResult:
    """Offers from an HSDS JSON document; every service's problems are collected (none are skipped silently)."""
    result = ImportResult()
    try:
        pairs = _services_of(document)
    except ValueError as exc:
        result.problems.append(Problem(source, "document", "", str(exc)))
        return result
    if not pairs:
        result.problems.append(Problem(source, "document", "", "no HSDS services found"))
    for index, (service, organization) in enumerate(pairs):
        if not isinstance(service, dict):
            result.problems.append(Problem(source, f"service {index + 1}", "",
                                           f"expected an HSDS service object, got {type(service).__name__}"))
            continue
        where = f"service {index + 1} ({service.get('name') or service.get('id') or '?'})"
        try:
            data = offer_data_from_service(service, organization, text_language)
        except (AttributeError, TypeError, KeyError, ValueError) as exc:
            # Uploaded documents can be any JSON: a field of the wrong type is this service's problem, not a crash.
            result.problems.append(Problem(source, where, "", f"not a service this importer can read "
                                                              f"(a field has an unexpected type: {exc})"))
            continue
        offer, problems = validate_offer(data, source, where, lenient=lenient)
        result.problems += problems
        if offer is not None:
            result.offers.append(offer)
    seen: dict[str, int] = {}
    for offer in result.offers:
        seen[offer.id] = seen.get(offer.id, 0) + 1
    result.problems += [Problem(source, f"id {offer_id}", "id", f"duplicate id '{offer_id}' ({n} services)")
                        for offer_id, n in seen.items() if n > 1]
    return result


def import_file(path: Path, text_language: str = "da", lenient: bool = False) -> ImportResult:
    """An HSDS JSON file, or a tabular package (folder or its datapackage.json)."""
    path = Path(path)
    if path.is_dir() or path.name == "datapackage.json" or path.suffix.lower() == ".csv":
        folder = path if path.is_dir() else path.parent
        return import_document(read_tabular(folder), text_language, lenient, source=str(path))
    try:
        document = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, json.JSONDecodeError) as exc:
        return ImportResult(problems=[Problem(str(path), "file", "", f"not readable HSDS JSON: {exc}")])
    return import_document(document, text_language, lenient, source=str(path))


# --- tabular data package -------------------------------------------------------------------------

# HSDS 3.0 tabular resources (file names as in the official datapackage.json).
TABLES = {
    "organization": "organizations.csv", "service": "services.csv", "location": "locations.csv",
    "service_at_location": "service_at_location.csv", "address": "addresses.csv", "phone": "phones.csv",
    "contact": "contacts.csv", "schedule": "schedules.csv", "service_area": "service_areas.csv",
    "language": "languages.csv", "cost_option": "cost_options.csv", "attribute": "attributes.csv",
    "taxonomy_term": "taxonomy_terms.csv",
}
_NUMBERS = {"latitude", "longitude", "amount", "extension", "minimum_age", "maximum_age", "year_incorporated",
            "timezone", "count", "interval"}


def _table_paths(folder: Path) -> dict[str, Path]:
    paths = {name: folder / file for name, file in TABLES.items()}
    descriptor = folder / "datapackage.json"
    try:
        package = json.loads(descriptor.read_text(encoding="utf-8"))
        for resource in package.get("resources", []):
            if resource.get("name") in paths and resource.get("path"):
                paths[resource["name"]] = folder / resource["path"]
    except (OSError, json.JSONDecodeError, AttributeError):
        pass  # the official example's descriptor is a link to the spec's; the standard file names apply
    return paths


def _rows(path: Path) -> list[dict]:
    if not path.is_file():
        return []
    with path.open(encoding="utf-8-sig", newline="") as f:
        rows = []
        for row in csv.DictReader(f):
            record: dict[str, Any] = {}
            for key, value in row.items():
                if key is None or value is None or value == "":
                    continue
                if key in _NUMBERS:
                    try:
                        record[key] = float(value) if "." in value else int(value)
                    except ValueError:
                        record[key] = value
                else:
                    record[key] = value
            rows.append(record)
        return rows


def _scalar_fields(record: dict) -> dict:
    return {key: value for key, value in record.items() if not isinstance(value, dict | list)}


def tabular_tables(document: dict) -> dict[str, list[dict]]:
    """An exported page flattened into HSDS tables (rows linked by their *_id columns)."""
    tables: dict[str, list[dict]] = {name: [] for name in TABLES}
    terms: dict[str, dict] = {}
    for organization in document.get("contents", []):
        tables["organization"].append(_scalar_fields(organization))
        for service in organization.get("services", []):
            sid = service["id"]
            tables["service"].append(_scalar_fields(service))
            for name, key in (("phone", "phones"), ("schedule", "schedules"), ("service_area", "service_areas"),
                              ("language", "languages"), ("cost_option", "cost_options")):
                tables[name] += [{**_scalar_fields(row), "service_id": sid} for row in service.get(key) or []]
            for sal in service.get("service_at_locations") or []:
                location = sal["location"]
                tables["service_at_location"].append(_scalar_fields(sal))
                tables["location"].append(_scalar_fields(location))
                tables["address"] += [_scalar_fields(address) for address in location.get("addresses") or []]
            for attribute in service.get("attributes") or []:
                tables["attribute"].append(_scalar_fields(attribute))
                term = attribute.get("taxonomy_term")
                if term:
                    terms.setdefault(term["id"], _scalar_fields(term))
    tables["taxonomy_term"] = list(terms.values())
    return tables


def export_tabular(offers: Iterable[Offer], folder: Path) -> None:
    """The catalogue as an HSDS tabular data package: one CSV per table plus datapackage.json."""
    from knowledge.catalogue import write_atomic

    folder = Path(folder)
    resources = []
    for name, rows in tabular_tables(export_catalogue(offers)).items():
        columns: list[str] = []
        for row in rows:
            columns += [key for key in row if key not in columns]
        out = io.StringIO()
        writer = csv.DictWriter(out, fieldnames=columns or ["id"], lineterminator="\n")
        writer.writeheader()
        writer.writerows(rows)
        write_atomic(folder / TABLES[name], out.getvalue())
        resources.append({"name": name, "path": TABLES[name], "profile": "tabular-data-resource"})
    package = {"name": "brobygger-catalogue", "profile": "tabular-data-package", "resources": resources}
    write_atomic(folder / "datapackage.json", json.dumps(package, indent=1) + "\n")


def read_tabular(folder: Path) -> list[dict]:
    """Join an HSDS tabular package into nested service objects (each with its organization)."""
    paths = _table_paths(Path(folder))
    if not paths["service"].is_file():
        raise ValueError(f"{paths['service']} not found: not an HSDS tabular package")
    table = {name: _rows(path) for name, path in paths.items()}

    def by(name: str, key: str) -> dict[str, list[dict]]:
        index: dict[str, list[dict]] = {}
        for row in table[name]:
            if row.get(key):
                index.setdefault(row[key], []).append(row)
        return index

    terms = {row["id"]: row for row in table["taxonomy_term"] if row.get("id")}
    for attribute in table["attribute"]:
        if attribute.get("taxonomy_term_id") in terms:
            attribute["taxonomy_term"] = terms[attribute["taxonomy_term_id"]]
    languages_of = {key: by("language", key) for key in ("service_id", "location_id", "phone_id")}
    for phone in table["phone"]:
        phone["languages"] = languages_of["phone_id"].get(phone.get("id"), [])
    phones_of = {key: by("phone", key) for key in ("service_id", "location_id", "organization_id", "contact_id",
                                                   "service_at_location_id")}
    for contact in table["contact"]:
        contact["phones"] = phones_of["contact_id"].get(contact.get("id"), [])
    contacts_of = {key: by("contact", key) for key in ("service_id", "organization_id", "location_id",
                                                       "service_at_location_id")}
    schedules_of = {key: by("schedule", key) for key in ("service_id", "location_id", "service_at_location_id")}
    addresses_of = by("address", "location_id")
    locations = {}
    for location in table["location"]:
        lid = location.get("id")
        location.update(addresses=addresses_of.get(lid, []), phones=phones_of["location_id"].get(lid, []),
                        languages=languages_of["location_id"].get(lid, []),
                        contacts=contacts_of["location_id"].get(lid, []),
                        schedules=schedules_of["location_id"].get(lid, []))
        locations[lid] = location
    sals_of: dict[str, list[dict]] = {}
    for sal in table["service_at_location"]:
        sid = sal.get("id")
        sal.update(phones=phones_of["service_at_location_id"].get(sid, []),
                   contacts=contacts_of["service_at_location_id"].get(sid, []),
                   schedules=schedules_of["service_at_location_id"].get(sid, []))
        if sal.get("location_id") in locations:
            sal["location"] = locations[sal["location_id"]]
        sals_of.setdefault(sal.get("service_id", ""), []).append(sal)
    organizations = {}
    for organization in table["organization"]:
        oid = organization.get("id")
        organization.update(phones=phones_of["organization_id"].get(oid, []),
                            contacts=contacts_of["organization_id"].get(oid, []))
        organizations[oid] = organization
    areas_of, costs_of = by("service_area", "service_id"), by("cost_option", "service_id")
    attributes_of = by("attribute", "link_id")
    services = []
    for service in table["service"]:
        sid = service.get("id")
        service.update(
            phones=phones_of["service_id"].get(sid, []), contacts=contacts_of["service_id"].get(sid, []),
            schedules=schedules_of["service_id"].get(sid, []), service_areas=areas_of.get(sid, []),
            languages=languages_of["service_id"].get(sid, []), cost_options=costs_of.get(sid, []),
            service_at_locations=sals_of.get(sid, []), attributes=attributes_of.get(sid, []),
        )
        service.setdefault("status", "active")
        if service.get("organization_id") in organizations:
            service["organization"] = organizations[service["organization_id"]]
        services.append(service)
    return services
