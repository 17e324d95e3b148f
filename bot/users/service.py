"""Creating users and checking their tokens."""

import hashlib
import secrets

from sqlalchemy import select

from bot import SUPPORTED_LANGUAGES
from bot.store.db import Store
from bot.users.models import ROLES, CounsellorProfile, User


class UserError(ValueError):
    pass


def hash_token(token: str) -> str:
    # Tokens are 256 random bits, so a fast hash is enough: there is nothing to brute-force.
    return hashlib.sha256(token.encode()).hexdigest()


REGIONS = ("Hovedstaden", "Sjælland", "Syddanmark", "Midtjylland", "Nordjylland")


def add_user(store: Store, name: str, role: str, languages: list[str], organisation: str | None = None,
             regions: list[str] | None = None) -> tuple[User, str]:
    """Create a user and return it with its new API token (shown once, never stored)."""
    regions = [_region(region) for region in regions or []]
    name = name.strip()
    if not name:
        raise UserError("the name must not be empty")
    if role not in ROLES:
        raise UserError(f"unknown role {role!r}; choose one of: {', '.join(ROLES)}")
    unknown = [code for code in languages if code not in SUPPORTED_LANGUAGES]
    if unknown:
        raise UserError(
            f"unknown language(s) {', '.join(unknown)}; supported: {', '.join(SUPPORTED_LANGUAGES)}"
        )
    token = secrets.token_urlsafe(32)
    with store.session() as session:
        if session.scalar(select(User).where(User.name == name)):
            raise UserError(f"a user named {name!r} exists already")
        user = User(name=name, role=role, languages=",".join(languages), token_hash=hash_token(token))
        session.add(user)
        session.flush()
        if organisation or regions:
            session.add(CounsellorProfile(user_id=user.id, organisation=(organisation or "").strip() or None,
                                          regions=",".join(regions)))
    return user, token


def _region(value: str) -> str:
    """"Region Midtjylland", "midtjylland" → "Midtjylland"."""
    cleaned = value.strip().removeprefix("Region ").removeprefix("region ").strip()
    for region in REGIONS:
        if region.casefold() == cleaned.casefold():
            return region
    raise UserError(f"unknown region {value!r}; the regions are: {', '.join(REGIONS)}")


def profile_of(store: Store, user_id: int) -> CounsellorProfile | None:
    with store.session() as session:
        return session.get(CounsellorProfile, user_id)


def user_for_token(store: Store, token: str) -> User | None:
    with store.session() as session:
        return session.scalar(select(User).where(User.token_hash == hash_token(token)))


def team_languages(store: Store) -> dict[str, set[str]]:
    """Each organisation's languages: those its counsellors speak."""
    teams: dict[str, set[str]] = {}
    with store.session() as session:
        rows = session.execute(select(CounsellorProfile.organisation, User.languages)
                               .join(User, User.id == CounsellorProfile.user_id)
                               .where(CounsellorProfile.organisation.is_not(None))).all()
    for organisation, languages in rows:
        teams.setdefault(organisation, set()).update(code for code in languages.split(",") if code)
    return teams
