"""Phone numbers never stored or logged in clear: a keyed hash names the sender, Fernet keeps the address.

The hash (HMAC-SHA256 with BROBYGGER_SECRET_KEY) is stable, so one phone is one conversation; without
the key it cannot be reversed by hashing every Danish number. The encrypted address is what a later
message (a counsellor's reply) needs; the Fernet key is derived from the same secret.
"""

import base64
import hashlib
import hmac
import os
import secrets
from pathlib import Path

from cryptography.fernet import Fernet


def sender_hash(secret: str, address: str) -> str:
    return hmac.new(secret.encode(), address.encode(), hashlib.sha256).hexdigest()


def _fernet(secret: str) -> Fernet:
    key = hashlib.sha256(b"brobygger-sms-address:" + secret.encode()).digest()
    return Fernet(base64.urlsafe_b64encode(key))


def encrypt_address(secret: str, address: str) -> str:
    return _fernet(secret).encrypt(address.encode()).decode()


def decrypt_address(secret: str, token: str) -> str:
    return _fernet(secret).decrypt(token.encode()).decode()


def secret_key(settings) -> str:
    """BROBYGGER_SECRET_KEY, or a random key created once under var/ (readable by the owner only)."""
    if settings.secret_key:
        return settings.secret_key
    path = Path(settings.var_dir) / "secret_key"
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        try:
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        except FileExistsError:  # another process created it first
            pass
        else:
            with os.fdopen(fd, "w") as out:
                out.write(secrets.token_hex(32))
    return path.read_text().strip()
