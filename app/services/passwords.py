"""Password hashing (argon2id, memory-hard) and the rules a new password must meet."""

from __future__ import annotations

from functools import lru_cache

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError

from app.config import DATA_DIR
from app.services.errors import ValidationFailed

MIN_LENGTH = 8
MAX_LENGTH = 256  # argon2 takes any length; a cap keeps a megabyte "password" from costing CPU
COMMON_PASSWORDS_FILE = DATA_DIR / "common_passwords.txt"

# argon2id with OWASP's password-storage parameters (m=19 MiB, t=2, p=1): about 25 ms per hash on the 2-core
# reference box, against 200-340 ms for argon2-cffi's default (64 MiB, t=3, p=4), which would let a few
# concurrent sign-ins starve the app. Hashes made with other parameters are upgraded at the next sign-in.
_hasher = PasswordHasher(time_cost=2, memory_cost=19_456, parallelism=1)


def hash_password(password: str) -> str:
    return _hasher.hash(password)


def verify_password(password_hash: str, password: str) -> bool:
    try:
        return _hasher.verify(password_hash, password)
    except (VerifyMismatchError, VerificationError, InvalidHashError):
        return False


def needs_rehash(password_hash: str) -> bool:
    try:
        return _hasher.check_needs_rehash(password_hash)
    except InvalidHashError:
        return False


# A hash to verify against when the username is unknown, so both answers take the same time.
@lru_cache(maxsize=1)
def dummy_hash() -> str:
    return _hasher.hash("not-a-real-password-only-for-timing")


@lru_cache(maxsize=1)
def common_passwords() -> frozenset[str]:
    lines = COMMON_PASSWORDS_FILE.read_text(encoding="utf-8").splitlines()
    return frozenset(line.strip().lower() for line in lines if line.strip() and not line.startswith("#"))


def check_password_rules(password: str, username: str = "") -> None:
    """Refuse short, overlong, common or username-like passwords (NIST SP 800-63B, OWASP ASVS 6.2)."""
    if len(password) < MIN_LENGTH:
        raise ValidationFailed(f"the password needs at least {MIN_LENGTH} characters", field="password")
    if len(password) > MAX_LENGTH:
        raise ValidationFailed(f"the password may have at most {MAX_LENGTH} characters", field="password")
    lowered = password.lower()
    if lowered in common_passwords():
        raise ValidationFailed(
            "that password is on the list of the most common ones; choose another", "password"
        )
    if username and lowered in {username.lower(), username.lower() * 2, username.lower()[::-1]}:
        raise ValidationFailed("the password must not be the username", field="password")
    if len(set(password)) < 3:
        raise ValidationFailed("the password repeats too few characters; choose another", field="password")
