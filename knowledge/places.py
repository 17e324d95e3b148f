"""Danish places gazetteer: postcodes, municipalities, towns, districts and foreign names → municipality.

Data: knowledge/data/places/*.csv (PostNord postcodes, DAGI municipalities, towns/districts, CLDR
exonyms — see the source column of each row). The knowledge issue grows this into a full resolver.
"""

import csv
import re
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

from nlu.normalise import fold, words

PLACES_DIR = Path(__file__).resolve().parent / "data" / "places"
_POSTCODE = re.compile(r"(?<!\d)(\d{4})(?!\d)")


@dataclass(frozen=True)
class Municipality:
    code: str
    name: str
    region: str


class Gazetteer:
    def __init__(self, places_dir: Path = PLACES_DIR) -> None:
        self.municipalities: dict[str, Municipality] = {}
        self._names: dict[str, str] = {}  # folded place name -> municipality name
        self._postcodes: dict[str, str] = {}
        with (places_dir / "municipalities.csv").open(encoding="utf-8") as f:
            for row in csv.DictReader(f):
                self.municipalities[row["name"]] = Municipality(row["code"], row["name"], row["region"])
                self._add(row["name"], row["name"])
                if row["seat"]:
                    self._add(row["seat"], row["name"])
        with (places_dir / "postcodes.csv").open(encoding="utf-8") as f:
            for row in csv.DictReader(f):
                self._postcodes[row["postcode"]] = row["municipality"]
                self._add(row["town"], row["municipality"], overwrite=False)
        for filename in ("districts.csv", "exonyms.csv"):
            with (places_dir / filename).open(encoding="utf-8") as f:
                for row in csv.DictReader(f):
                    self._add(row["name"], row["municipality"], overwrite=False)
        self._max_words = max(len(name.split()) for name in self._names)

    def _add(self, name: str, municipality: str, overwrite: bool = True) -> None:
        key = " ".join(words(name))
        if key and (overwrite or key not in self._names) and municipality in self.municipalities:
            self._names[key] = municipality

    def find(self, text: str) -> Municipality | None:
        """The municipality a message names (postcode, municipality, town, district), or None."""
        folded = fold(text)
        for postcode in _POSTCODE.findall(folded):
            if postcode in self._postcodes:
                return self.municipalities[self._postcodes[postcode]]
        tokens = words(text)
        # Longest names first, so "Høje Taastrup" wins over "Taastrup".
        for size in range(min(self._max_words, len(tokens)), 0, -1):
            for start in range(len(tokens) - size + 1):
                name = self._names.get(" ".join(tokens[start:start + size]))
                if name:
                    return self.municipalities[name]
        return None


@lru_cache(maxsize=1)
def gazetteer() -> Gazetteer:
    return Gazetteer()
