"""People sign in to the consoles with a name and password; scripts keep using API tokens.

Passwords are hashed with Argon2id (argon2-cffi). After MAX_FAILURES wrong passwords in a row the
account is locked for LOCKOUT; the answer never says whether the name exists. A session is a random
cookie token (only its hash is stored, so a stolen database opens no session) with its own CSRF
token, which every state-changing request made with the cookie must send back in X-CSRF-Token.
"""

import secrets
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError
from sqlalchemy import delete, select

from bot.store.db import Store
from bot.users.models import ConsoleSession, Password, User
from bot.users.service import UserError, hash_token

MIN_PASSWORD_CHARS = 10
MAX_FAILURES = 5
LOCKOUT = timedelta(minutes=15)
SESSION_LIFETIME = timedelta(hours=12)
_hasher = PasswordHasher()
# Verified against when the name is unknown, so a wrong name costs as long as a wrong password.
_DUMMY_HASH = _hasher.hash(secrets.token_urlsafe(16))


class LoginRefused(Exception):
    def __init__(self, message: str, locked_until: datetime | None = None) -> None:
        super().__init__(message)
        self.locked_until = locked_until


@dataclass(frozen=True)
class SignedIn:
    user: User
    csrf_token: str


def _aware(value: datetime | None) -> datetime | None:
    return value if value is None or value.tzinfo else value.replace(tzinfo=UTC)


def set_password(store: Store, name: str, password: str) -> User:
    if len(password) < MIN_PASSWORD_CHARS:
        raise UserError(f"a password needs at least {MIN_PASSWORD_CHARS} characters")
    with store.session() as session:
        user = session.scalar(select(User).where(User.name == name))
        if user is None:
            raise UserError(f"no user named {name!r}")
        session.merge(Password(user_id=user.id, hash=_hasher.hash(password), failed_attempts=0,
                               locked_until=None, changed_at=datetime.now(UTC)))
        return user


def login(store: Store, name: str, password: str) -> tuple[str, SignedIn]:
    """A new session's cookie token and who signed in; LoginRefused when not."""
    now = datetime.now(UTC)
    with store.session() as session:
        user = session.scalar(select(User).where(User.name == name))
        stored = session.get(Password, user.id) if user is not None else None
        if stored is None:
            _verify(_DUMMY_HASH, password)
            raise LoginRefused("wrong name or password")
        locked_until = _aware(stored.locked_until)
        if locked_until and locked_until > now:
            raise LoginRefused("too many wrong passwords; try again later", locked_until)
        if not _verify(stored.hash, password):
            stored.failed_attempts += 1
            if stored.failed_attempts >= MAX_FAILURES:
                stored.failed_attempts, stored.locked_until = 0, now + LOCKOUT
                session.commit()
                raise LoginRefused("too many wrong passwords; try again later", stored.locked_until)
            session.commit()
            raise LoginRefused("wrong name or password")
        stored.failed_attempts, stored.locked_until = 0, None
        token, csrf = secrets.token_urlsafe(32), secrets.token_urlsafe(32)
        session.add(ConsoleSession(token_hash=hash_token(token), user_id=user.id, csrf_token=csrf,
                                   expires_at=now + SESSION_LIFETIME))
        session.execute(delete(ConsoleSession).where(ConsoleSession.expires_at < now))
        return token, SignedIn(user, csrf)


def _verify(stored_hash: str, password: str) -> bool:
    try:
        return _hasher.verify(stored_hash, password)
    except (VerifyMismatchError, VerificationError, InvalidHashError):
        return False


def signed_in(store: Store, token: str) -> SignedIn | None:
    with store.session() as session:
        found = session.get(ConsoleSession, hash_token(token))
        if found is None or _aware(found.expires_at) <= datetime.now(UTC):
            return None
        user = session.get(User, found.user_id)
        return SignedIn(user, found.csrf_token) if user is not None else None


def logout(store: Store, token: str) -> None:
    with store.session() as session:
        session.execute(delete(ConsoleSession).where(ConsoleSession.token_hash == hash_token(token)))
