"""Danish places gazetteer: postcodes, municipalities, towns, districts and foreign names → municipality.

Data: knowledge/data/places/*.csv — PostNord postcodes, DAGI municipalities (centroids, neighbours),
towns/districts, checked exonyms (CLDR, Wikipedia) and our own transliterations (aliases.csv) — see
the source column of each row. Shared by understanding (which place did the citizen name?) and search
(which offers are near?).

Matching happens on `fold`ed text, so "Århus", "Aarhus", "AARHUS" and Arabic/Persian letter variants
meet. On top of exact names it tolerates what people do to place names in a message:
  * grammar glued to the name: Turkish case suffixes ("Aarhus'ta", "aarhusta", "Kopenhag'da"), Danish
    genitive ("Odenses"), Arabic proclitics ("بآرهوس", "وكوبنهاغن", "الكوبنهاغن");
  * misspellings of municipality and city names ("Koebenhaven", "Olborg"), by edit-distance ratio
    (rapidfuzz Levenshtein) against the ~300 names of municipalities, seats, exonyms and aliases only: the ~2,000
    small towns and districts must match exactly, or ordinary words would turn into villages.
Town names that are also everyday words ("ringe", "give", "hals") are listed in not_places.csv and
never read as places on their own; candidates came from word-frequency lists, checked by hand.
A name shared by places in different municipalities (Hasle: Aarhus and Bornholm) is ambiguous: the
match lists the candidates, and another place named in the same message settles it.
"""

import csv
import math
import re
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

from rapidfuzz import process
from rapidfuzz.distance import Levenshtein

from nlu.normalise import words

PLACES_DIR = Path(__file__).resolve().parent / "data" / "places"
_POSTCODE = re.compile(r"(?<!\d)(\d{4})(?!\d)")
_ARABIC = re.compile(r"[\u0600-\u06ff]")
# Folded Turkish case endings (locative, ablative, dative, genitive, accusative, "from/of" -li/-deki)
# and the Danish genitive s; longest first so "aarhus'tan" loses "tan", not "n".
_LATIN_SUFFIXES = sorted(
    ["dan", "den", "tan", "ten", "da", "de", "ta", "te", "ya", "ye", "a", "e", "nin", "nun", "in", "un",
     "yi", "yu", "i", "u", "daki", "deki", "taki", "teki", "li", "lu", "s",
     # "I am in/from X": esbjergdeyim, aarhustayiz, helsingorluyum
     "deyim", "dayim", "teyim", "tayim", "deyiz", "dayiz", "teyiz", "tayiz", "liyim", "luyum", "liyiz", "luyuz"],
    key=len, reverse=True)
# Folded Arabic/Persian proclitics: and, in/with, to/for, so, like, the (and combinations).
_ARABIC_PREFIXES = sorted(["و", "ب", "ل", "ف", "ک", "ال", "بال", "وال", "لل", "فال", "وب", "ول"], key=len, reverse=True)
_MIN_STEM = 4
# Words around a four-digit number that make it an amount, a count or a year rather than a postcode.
_NOT_POSTCODE_AFTER = {"kr", "kroner", "krone", "dkk", "tak", "tl", "euro", "eur", "gange", "times", "aar", "ar",
                       "sene", "year", "years", "shilin", "lacag", "دولار", "کرون", "کرونه", "تومان", "ریال", "مره",
                       "سال", "سنه", "kalori", "kcal", "gram", "mg", "ml", "skridt", "steps"}
# … and before a number that could be a year (1900–2099): "i 2019", "siden 2015", "sanadkii 2010".
_BEFORE_A_YEAR = {"i", "in", "aar", "siden", "since", "year", "fra", "from", "til", "sanadkii", "sannadkii", "yili",
                  "yilinda", "sal", "سال", "عام", "سنه", "منذ", "از"}
# Misspellings tolerated: one edit from 7 letters, two from 10; the first letter must be right (people
# rarely get it wrong, and it keeps "holding" from becoming Kolding). Shorter words must match exactly.
_FUZZY_EDITS = ((10, 2), (7, 1))
_MIN_FUZZY_LENGTH = 7


@dataclass(frozen=True)
class Municipality:
    code: str
    name: str
    region: str
    lat: float
    lon: float
    # Municipalities sharing a land border (derived from DAGI 2014 polygons; islands have none).
    neighbours: tuple[str, ...] = ()


@dataclass(frozen=True)
class PlaceMatch:
    municipality: Municipality | None  # None when the name is ambiguous
    text: str  # the part of the message that named the place (folded)
    how: str  # "postcode", "name" or "fuzzy"
    candidates: tuple[Municipality, ...] = ()


class Gazetteer:
    def __init__(self, places_dir: Path = PLACES_DIR) -> None:
        self.municipalities: dict[str, Municipality] = {}
        self._names: dict[str, set[str]] = {}  # folded place name -> municipality names
        self._fuzzy: dict[str, str] = {}  # folded name -> municipality, for misspelling tolerance
        self._postcodes: dict[str, str] = {}
        with (places_dir / "municipalities.csv").open(encoding="utf-8") as f:
            for row in csv.DictReader(f):
                self.municipalities[row["name"]] = Municipality(
                    row["code"], row["name"], row["region"], float(row["lat"]), float(row["lon"]),
                    tuple(name for name in row["neighbours"].split(";") if name),
                )
        for name in self.municipalities:
            self._add(name, name, fuzzy=True)
        with (places_dir / "municipalities.csv").open(encoding="utf-8") as f:
            for row in csv.DictReader(f):
                if row["seat"]:
                    self._add(row["seat"], row["name"], fuzzy=True)
        with (places_dir / "postcodes.csv").open(encoding="utf-8") as f:
            for row in csv.DictReader(f):
                self._postcodes[row["postcode"]] = row["municipality"]
                self._add(row["town"], row["municipality"])
        for filename, fuzzy in (("districts.csv", False), ("exonyms.csv", True), ("aliases.csv", True)):
            with (places_dir / filename).open(encoding="utf-8") as f:
                for row in csv.DictReader(f):
                    self._add(row["name"], row["municipality"], fuzzy=fuzzy)
        # A town named like a municipality elsewhere ("Hasle") stays ambiguous, but a municipality's own
        # name always means the municipality (there is an Aarhus-named street or two elsewhere).
        for name in self.municipalities:
            self._names[self._key(name)] = {name}
        with (places_dir / "not_places.csv").open(encoding="utf-8") as f:
            self._not_places = {self._key(row["word"]) for row in csv.DictReader(f)}
        for word in self._not_places:
            self._names.pop(word, None)
        self._max_words = max(len(name.split()) for name in self._names)
        self._fuzzy_by_initial: dict[str, list[str]] = {}
        for key in self._fuzzy:
            self._fuzzy_by_initial.setdefault(key[0], []).append(key)

    @staticmethod
    def _key(name: str) -> str:
        return " ".join(words(name))

    def _add(self, name: str, municipality: str, fuzzy: bool = False) -> None:
        key = self._key(name)
        if not key or municipality not in self.municipalities:
            return
        self._names.setdefault(key, set()).add(municipality)
        if fuzzy and len(key) >= _MIN_FUZZY_LENGTH:
            self._fuzzy.setdefault(key, municipality)

    def _variants(self, token: str) -> list[str]:
        """The token, and the token without glued-on grammar."""
        found = [token]
        prefixes, suffixes = (_ARABIC_PREFIXES, ()) if _ARABIC.search(token) else ((), _LATIN_SUFFIXES)
        for prefix in prefixes:
            if token.startswith(prefix) and len(token) - len(prefix) >= _MIN_STEM:
                found.append(token[len(prefix):])
        for suffix in suffixes:
            if token.endswith(suffix) and len(token) - len(suffix) >= _MIN_STEM:
                found.append(token[:-len(suffix)])
        return found

    def _exact(self, tokens: list[str]) -> list[tuple[str, set[str]]]:
        """Every name in the text, longest first ("Høje Taastrup" before "Taastrup")."""
        found: list[tuple[str, set[str]]] = []
        used: set[int] = set()
        for size in range(min(self._max_words, len(tokens)), 0, -1):
            for start in range(len(tokens) - size + 1):
                span = range(start, start + size)
                if used.intersection(span):
                    continue
                head, middle, tail = tokens[start], tokens[start + 1:start + size - 1], tokens[start + size - 1]
                heads = self._variants(head) if size > 1 else [head]
                tails = self._variants(tail)
                keys = ([" ".join([h, *middle, t]) for h in heads for t in tails] if size > 1
                        else [v for v in tails] + [v for v in self._variants(head) if v not in tails])
                for key in keys:
                    if key in self._names:
                        found.append((key, self._names[key]))
                        used.update(span)
                        break
        return found

    def _postcodes_in(self, tokens: list[str]) -> list[str]:
        """Four-digit numbers that read as postcodes: not amounts ("2000 kr", "1000 tak") or years."""
        found = []
        for i, token in enumerate(tokens):
            if token not in self._postcodes:
                continue
            after = tokens[i + 1] if i + 1 < len(tokens) else ""
            before = tokens[i - 1] if i else ""
            if after in _NOT_POSTCODE_AFTER or (1900 <= int(token) <= 2099 and before in _BEFORE_A_YEAR):
                continue
            found.append(token)
        return found

    def match(self, text: str) -> PlaceMatch | None:
        """The place a message names (postcode, municipality, town, district, foreign name), or None."""
        tokens = words(text)
        for postcode in self._postcodes_in(tokens):
            return PlaceMatch(self.municipalities[self._postcodes[postcode]], postcode, "postcode")
        exact = self._exact(tokens)
        if exact:
            named = [next(iter(m)) for _, m in exact if len(m) == 1]
            for key, options in exact:
                if len(options) == 1:
                    return PlaceMatch(self.municipalities[next(iter(options))], key, "name")
                settled = options.intersection(named)
                if settled:
                    return PlaceMatch(self.municipalities[next(iter(settled))], key, "name")
            key, options = exact[0]
            return PlaceMatch(None, key, "name", tuple(self.municipalities[m] for m in sorted(options)))
        for token in tokens:
            for variant in self._variants(token):
                if len(variant) < _MIN_FUZZY_LENGTH or variant.isdigit() or variant in self._not_places:
                    continue
                edits = next(n for length, n in _FUZZY_EDITS if len(variant) >= length)
                best = process.extractOne(variant, self._fuzzy_by_initial.get(variant[0], []),
                                          scorer=Levenshtein.distance, score_cutoff=edits)
                if best:
                    return PlaceMatch(self.municipalities[self._fuzzy[best[0]]], variant, "fuzzy")
        return None

    def find(self, text: str) -> Municipality | None:
        """The municipality a message names, when it is unambiguous."""
        found = self.match(text)
        return found.municipality if found else None

    def neighbours(self, name: str) -> list[Municipality]:
        """Bordering municipalities, nearest centroid first."""
        home = self.municipalities[name]
        found = [self.municipalities[n] for n in home.neighbours if n in self.municipalities]
        return sorted(found, key=lambda m: distance_km(home, m))


def distance_km(a: Municipality, b: Municipality) -> float:
    """Great-circle distance between two municipality centroids."""
    lat1, lon1, lat2, lon2 = map(math.radians, (a.lat, a.lon, b.lat, b.lon))
    h = math.sin((lat2 - lat1) / 2) ** 2 + math.cos(lat1) * math.cos(lat2) * math.sin((lon2 - lon1) / 2) ** 2
    return 2 * 6371.0 * math.asin(math.sqrt(h))


@lru_cache(maxsize=1)
def gazetteer() -> Gazetteer:
    return Gazetteer()
