"""Staff passwords, hashed with argon2id (argon2-cffi's recommended parameters, RFC 9106 low-memory).

``verify_password`` takes the same time whether or not the account exists: callers pass ``None`` for an
unknown account and the password is checked against a dummy hash of the same parameters.
"""

from __future__ import annotations

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

MIN_LENGTH = 8

_hasher = PasswordHasher()
# Hashed once at import, with the same parameters as real hashes, so an unknown user costs one verify too.
_DUMMY_HASH = _hasher.hash("not a password of anyone: timing equaliser")


def hash_password(password: str) -> str:
    """The argon2id hash (PHC string: algorithm, parameters, salt, digest) of ``password``."""
    return _hasher.hash(password)


def verify_password(stored_hash: str | None, password: str) -> bool:
    """Whether ``password`` matches ``stored_hash``; ``None`` (no such account) runs a dummy verify, False."""
    try:
        return _hasher.verify(stored_hash or _DUMMY_HASH, password) and stored_hash is not None
    except (VerificationError, InvalidHashError):
        return False


def needs_rehash(stored_hash: str) -> bool:
    """Whether the hash was made with older parameters than today's (rehash at the next sign-in)."""
    return _hasher.check_needs_rehash(stored_hash)


def password_problem(password: str) -> str | None:
    """Why ``password`` is too weak to accept, or None."""
    if len(password) < MIN_LENGTH:
        return f"a password needs at least {MIN_LENGTH} characters"
    if not password.strip():
        return "a password cannot be only spaces"
    return None


__all__ = ["MIN_LENGTH", "hash_password", "needs_rehash", "password_problem", "verify_password"]
