"""Phone numbers never stored or logged in clear: a keyed hash names the sender, Fernet keeps the address.

The hash (HMAC-SHA256 with BROBYGGER_SECRET_KEY) is stable, so one phone is one conversation; without
the key it cannot be reversed by hashing every Danish number. The encrypted address is what a later
message (a counsellor's reply) needs; the Fernet key is derived from the same secret.
"""

import base64
import hashlib
import hmac

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
