"""OIDC ID tokens as Google mints them for Cloud Scheduler's ``oidc_token`` targets.

The emulator signs RS256 JWTs with its own RSA key (made once per process; ``kid`` is the key's
fingerprint). Claims follow Google ID tokens: ``iss`` https://accounts.google.com, ``aud``,
``azp``, ``sub`` (the service account's unique id), ``email``, ``email_verified``, ``iat``,
``exp`` (one hour). :func:`verify` is what the stub HTTP service uses; it checks signature, issuer,
expiry and (optionally) audience. :func:`jwks` publishes the public key.
"""

from __future__ import annotations

import base64
import hashlib
import json
import threading
import time
from typing import Any

ISSUER = "https://accounts.google.com"
LIFETIME_S = 3600
_lock = threading.Lock()
_key: Any = None


class InvalidToken(Exception):
    """The token is missing, malformed, badly signed, expired, or for another audience."""


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def signing_key():
    global _key
    with _lock:
        if _key is None:
            from cryptography.hazmat.primitives.asymmetric import rsa

            _key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        return _key


def _public_numbers():
    return signing_key().public_key().public_numbers()


def key_id() -> str:
    n = _public_numbers().n
    return hashlib.sha1(n.to_bytes((n.bit_length() + 7) // 8, "big")).hexdigest()


def jwks() -> dict[str, Any]:
    nums = _public_numbers()

    def enc(i: int) -> str:
        return _b64(i.to_bytes((i.bit_length() + 7) // 8, "big"))

    return {
        "keys": [
            {
                "kty": "RSA",
                "alg": "RS256",
                "use": "sig",
                "kid": key_id(),
                "n": enc(nums.n),
                "e": enc(nums.e),
            }
        ]
    }


def mint(email: str, audience: str, *, subject: str | None = None, now: float | None = None) -> str:
    """An ID token for ``email`` with audience ``audience``."""
    from cryptography.hazmat.primitives import hashes
    from cryptography.hazmat.primitives.asymmetric import padding

    issued = int(now if now is not None else time.time())
    header = {"alg": "RS256", "kid": key_id(), "typ": "JWT"}
    claims = {
        "iss": ISSUER,
        "aud": audience,
        "azp": subject or email,
        "sub": subject or str(int(hashlib.sha256(email.encode()).hexdigest()[:15], 16)),
        "email": email,
        "email_verified": True,
        "iat": issued,
        "exp": issued + LIFETIME_S,
    }

    def enc(obj: dict[str, Any]) -> str:
        return _b64(json.dumps(obj, separators=(",", ":")).encode())

    signing_input = f"{enc(header)}.{enc(claims)}"
    signature = signing_key().sign(signing_input.encode(), padding.PKCS1v15(), hashes.SHA256())
    return f"{signing_input}.{_b64(signature)}"


def verify(
    token: str, *, audiences: list[str] | None = None, now: float | None = None
) -> dict[str, Any]:
    """Check a token minted by :func:`mint`; returns its claims or raises :class:`InvalidToken`."""
    from cryptography.exceptions import InvalidSignature
    from cryptography.hazmat.primitives import hashes
    from cryptography.hazmat.primitives.asymmetric import padding

    parts = token.split(".")
    if len(parts) != 3:
        raise InvalidToken("malformed token")
    try:
        header = json.loads(_unb64(parts[0]))
        claims = json.loads(_unb64(parts[1]))
        signature = _unb64(parts[2])
    except (ValueError, UnicodeDecodeError):
        raise InvalidToken("malformed token") from None
    if header.get("alg") != "RS256":
        raise InvalidToken("unsupported algorithm")
    try:
        signing_key().public_key().verify(
            signature, f"{parts[0]}.{parts[1]}".encode(), padding.PKCS1v15(), hashes.SHA256()
        )
    except InvalidSignature:
        raise InvalidToken("bad signature") from None
    current = now if now is not None else time.time()
    if claims.get("iss") != ISSUER:
        raise InvalidToken("wrong issuer")
    if not isinstance(claims.get("exp"), int) or claims["exp"] < current:
        raise InvalidToken("token expired")
    if audiences is not None and claims.get("aud") not in audiences:
        raise InvalidToken(f"wrong audience {claims.get('aud')!r}")
    return claims
