"""The catalogue of offers: schema and loading. (The knowledge issue adds HSDS import/export.)"""

from datetime import date
from functools import lru_cache
from pathlib import Path
from typing import Literal

import yaml
from pydantic import BaseModel, Field

CATALOGUE_PATH = Path(__file__).resolve().parent / "data" / "offers.yml"


class Where(BaseModel):
    scope: Literal["local", "national"]
    municipalities: list[str] = Field(default_factory=list)
    region: str | None = None


class Contact(BaseModel):
    phone: str | None = None
    email: str | None = None
    url: str | None = None

    def best(self) -> str | None:
        """The one way to reach the offer that fits a short message."""
        return self.phone or self.url or self.email


class Offer(BaseModel):
    id: str
    organisation: str
    title: dict[str, str]
    summary: dict[str, str]
    topics: list[str]
    target_groups: list[str] = Field(default_factory=list)
    where: Where
    address: str | None = None
    languages: list[str] = Field(default_factory=lambda: ["da"])
    cost: str = "unknown"
    how_to_join: dict[str, str] = Field(default_factory=dict)
    contact: Contact = Field(default_factory=Contact)
    hours: str | None = None
    sources: list[str] = Field(default_factory=list)
    last_verified: date | None = None
    verified: bool = True

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
            "address": self.address,
            "how_to_join": self.localized("how_to_join", language) or None,
            "last_verified": self.last_verified.isoformat() if self.last_verified else None,
            "score": round(score, 4) if score is not None else None,
        }


class Catalogue:
    def __init__(self, offers: list[Offer]) -> None:
        self.offers = offers
        self._by_id = {offer.id: offer for offer in offers}
        if len(self._by_id) != len(offers):
            raise ValueError("offer ids must be unique")

    @classmethod
    def load(cls, path: Path = CATALOGUE_PATH) -> "Catalogue":
        with path.open(encoding="utf-8") as f:
            return cls([Offer.model_validate(item) for item in yaml.safe_load(f)])

    def get(self, offer_id: str) -> Offer | None:
        return self._by_id.get(offer_id)


@lru_cache(maxsize=1)
def default_catalogue() -> Catalogue:
    return Catalogue.load()
