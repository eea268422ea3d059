"""Users, server-side sessions, API tokens and the first-start setup token.

Every secret handed out (session id, API token, setup token) is 256 random bits; only its SHA-256 is stored.
Changes to users and tokens and every sign-in are written to the audit log in the same transaction.
"""

from __future__ import annotations

import hashlib
import secrets
import unicodedata
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import delete, func, select, update
from sqlalchemy.exc import OperationalError
from sqlalchemy.orm import Session, joinedload
from sqlalchemy.orm.attributes import set_committed_value

from app.config import Settings
from app.db.access import ROLES, ApiToken, SetupToken, User, UserSession
from app.db.base import utc_now
from app.services import audit, passwords, rate_limits
from app.services.errors import ConflictError, NotFoundError, ValidationFailed

TOKEN_PREFIX = "pwr_"
ROLE_RANK = {role: rank for rank, role in enumerate(ROLES, start=1)}
# Writing "last seen"/"last used" on every request would turn every read into a write; a minute is precise
# enough for an idle timeout of minutes to hours and for "when was this token last used".
TOUCH_EVERY = timedelta(seconds=60)
USERNAME_CHARS = set("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789._-@")


def digest(secret: str) -> str:
    return hashlib.sha256(secret.encode("utf-8")).hexdigest()


def role_at_most(role: str, ceiling: str) -> bool:
    return ROLE_RANK[role] <= ROLE_RANK[ceiling]


def lower_role(a: str, b: str) -> str:
    return a if ROLE_RANK[a] <= ROLE_RANK[b] else b


def _check_role(role: str) -> None:
    if role not in ROLE_RANK:
        raise ValidationFailed(f"role must be one of {', '.join(ROLES)}", field="role")


def _check_username(username: str) -> str:
    username = username.strip()
    if not 1 <= len(username) <= 80 or not set(username) <= USERNAME_CHARS:
        raise ValidationFailed("a username has 1-80 letters, digits or . _ - @", field="username")
    return username


def user_snapshot(user: User) -> dict[str, object]:
    return {k: v for k, v in audit.snapshot(user).items() if k not in ("last_login_at",)}


# ---- users -----------------------------------------------------------------------------------------------


def user_count(session: Session) -> int:
    return int(session.scalar(select(func.count()).select_from(User)) or 0)


def user_by_name(session: Session, username: str) -> User | None:
    return session.scalars(select(User).where(func.lower(User.username) == username.strip().lower())).first()


def get_user(session: Session, user_id: int) -> User:
    user = session.get(User, user_id)
    if user is None:
        raise NotFoundError(f"user {user_id} does not exist")
    return user


def list_users(session: Session) -> list[User]:
    return list(session.scalars(select(User).order_by(User.username)))


def create_user(session: Session, username: str, password: str, role: str) -> User:
    username = _check_username(username)
    _check_role(role)
    passwords.check_password_rules(password, username)
    if user_by_name(session, username) is not None:
        raise ConflictError(f"a user named '{username}' already exists", field="username")
    user = User(
        username=username,
        password_hash=passwords.hash_password(password),
        role=role,
        is_active=True,
        password_changed_at=utc_now(),
    )
    session.add(user)
    session.flush()
    audit.record(
        session,
        "user_create",
        "users",
        user.id,
        f"created user {username} with role {role}",
        after=user_snapshot(user),
    )
    return user


def update_user(
    session: Session,
    user: User,
    version: int,
    *,
    role: str | None = None,
    is_active: bool | None = None,
    password: str | None = None,
) -> User:
    """Change role, enable/disable or set a new password.

    Disabling a user or setting a new password ends that user's sessions."""
    if user.version != version:
        raise ConflictError(
            f"user {user.id} was changed by someone else: your version {version}, "
            f"current version {user.version}",
            field="version",
        )
    before = user_snapshot(user)
    if role is not None:
        _check_role(role)
        if user.role == "admin" and role != "admin":
            _keep_one_admin(session, user)
        user.role = role
    if is_active is not None:
        if not is_active and user.is_active and user.role == "admin":
            _keep_one_admin(session, user)
        user.is_active = is_active
    if password is not None:
        passwords.check_password_rules(password, user.username)
        user.password_hash = passwords.hash_password(password)
        user.password_changed_at = utc_now()
    session.flush()
    if password is not None or is_active is False:
        end_user_sessions(session, user.id)
        revoke_user_tokens(session, user, "password changed" if password is not None else "user disabled")
    after = user_snapshot(user)
    words = audit.describe_changes(before, after)
    if password is not None:
        words = "; ".join(
            w for w in (words.split("; ") if words else []) if not w.startswith("password_changed_at")
        )
        words = (words + "; " if words else "") + "password changed"
    audit.record(
        session, "user_update", "users", user.id, f"user {user.username}: {words}", before=before, after=after
    )
    return user


def _keep_one_admin(session: Session, user: User) -> None:
    others = session.scalar(
        select(func.count())
        .select_from(User)
        .where(User.role == "admin", User.is_active.is_(True), User.id != user.id)
    )
    if not others:
        raise ConflictError("this is the last active admin; make another admin first", field="role")


def _touch_user(session: Session, user: User, **values: object) -> None:
    """Bookkeeping writes (last sign-in, a rehash) that must not bump the version an admin's edit
    was read at."""
    session.execute(update(User).where(User.id == user.id).values(**values))
    session.expire(user, list(values))


class WrongCurrentPassword(ValidationFailed):
    """The current password was wrong: counted like a failed sign-in; the caller must still commit."""


def change_own_password(
    session: Session, settings: Settings, user: User, current: str, new: str, address: str
) -> None:
    """A signed-in user's own change (never through an API token: the caller checks). Wrong current
    passwords count as failed sign-ins of (this user, this address) and wait like them. The change ends
    every session of the user and revokes their API tokens (update_user)."""
    check_sign_in_allowed(session, settings, user.username, address)
    if not passwords.verify_password(user.password_hash, current[: passwords.MAX_LENGTH + 1]):
        _note_failure(session, settings, user.username, address)
        audit.record(
            session,
            "password_change_failed",
            "users",
            user.id,
            f"{user.username}: wrong current password on a password change from {address}",
        )
        raise WrongCurrentPassword("the current password is wrong", field="current_password")
    update_user(session, user, user.version, password=new)


# ---- sign-in limits: per (username, address) pair with a growing back-off, and per address --------------
#
# A fixed lock per username let anyone keep a user out (5 wrong passwords a few minutes apart). Instead, a
# (normalised username, address) pair gets `login_failures_per_user` free failures, then each further try
# waits 30 s, 60 s, 120 s ... (at most 15 min) after its latest failure; the same user from another address is
# not slowed. Each address also has `login_failures_per_address` failures per window over all usernames.
# Wrong current passwords on a password change count as sign-in failures of the same pair.
BACKOFF_BASE_SECONDS = 30
BACKOFF_CAP_SECONDS = 15 * 60
PAIR_MEMORY_SECONDS = 60 * 60
LOGIN_KIND = "login"


def normalise_username(username: str) -> str:
    """The form limits compare: Unicode NFKC, case-folded, surrounding and repeated spaces gone."""
    return " ".join(unicodedata.normalize("NFKC", username).casefold().split())


def _pair_key(username: str, address: str) -> str:
    return f"pair:{normalise_username(username)[:120]}|{address[:64]}"


def check_sign_in_allowed(session: Session, settings: Settings, username: str, address: str) -> None:
    """Raise RateLimited (with the seconds to wait) while the address or the (user, address) pair must wait."""
    rate_limits.check(
        session,
        LOGIN_KIND,
        [(f"addr:{address}", settings.login_failures_per_address)],
        settings.rate_limit_window_seconds,
        "failed sign-ins from your address",
    )
    wait = rate_limits.backoff_wait(
        session,
        LOGIN_KIND,
        _pair_key(username, address),
        free=settings.login_failures_per_user,
        base_seconds=BACKOFF_BASE_SECONDS,
        cap_seconds=BACKOFF_CAP_SECONDS,
        memory_seconds=PAIR_MEMORY_SECONDS,
    )
    if wait is not None:
        raise rate_limits.RateLimited(
            wait, f"too many failed sign-ins for this account; try again in {wait} s"
        )


def _note_failure(session: Session, settings: Settings, username: str, address: str) -> None:
    rate_limits.note(
        session,
        LOGIN_KIND,
        [_pair_key(username, address), f"addr:{address}"],
        max(settings.rate_limit_window_seconds, PAIR_MEMORY_SECONDS),
    )


def clear_sign_in_limits(session: Session, user: User) -> int:
    """An admin lifts the back-off of a user's name from every address (audited)."""
    cleared = rate_limits.forget_prefix(
        session, LOGIN_KIND, f"pair:{normalise_username(user.username)[:120]}|"
    )
    audit.record(
        session,
        "login_limits_clear",
        "users",
        user.id,
        f"sign-in back-off of {user.username} cleared ({cleared} failures forgotten)",
    )
    return cleared


def authenticate(
    session: Session, settings: Settings, username: str, password: str, address: str
) -> User | None:
    """The user if the password is right. Raises RateLimited while the address or the (user, address) pair
    must wait (see above).

    Failures are counted and audited in the caller's transaction: the caller must commit on failure too.
    The audit entry's actor is "anonymous"; the name typed is data in the entry (never trusted as an actor)."""
    check_sign_in_allowed(session, settings, username, address)
    user = user_by_name(session, username) if username.strip() else None
    if len(password) > passwords.MAX_LENGTH:
        password = password[: passwords.MAX_LENGTH + 1]
    ok = passwords.verify_password(user.password_hash if user else passwords.dummy_hash(), password)
    if not ok or user is None or not user.is_active:
        _note_failure(session, settings, username, address)
        reason = (
            "unknown user" if user is None else ("disabled user" if not user.is_active else "wrong password")
        )
        audit.record(
            session,
            "login_failed",
            "users",
            user.id if user else None,
            f"failed sign-in as {username[:80]!r} from {address} ({reason})",
            after={"attempted_username": username[:80], "address": address[:64], "reason": reason},
            actor=audit.Actor("anonymous"),
        )
        return None
    if passwords.needs_rehash(user.password_hash):
        _touch_user(session, user, password_hash=passwords.hash_password(password))
    rate_limits.forget(session, LOGIN_KIND, _pair_key(username, address))
    return user


# ---- sessions --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class NewSession:
    raw_id: str
    row: UserSession


def start_session(
    session: Session, settings: Settings, user: User, address: str, user_agent: str
) -> NewSession:
    """A fresh random id at every sign-in (no session fixation); the cookie gets `raw_id`."""
    purge_expired_sessions(session, settings)
    now = utc_now()
    raw = secrets.token_urlsafe(32)
    row = UserSession(
        id_hash=digest(raw),
        user_id=user.id,
        csrf_token=secrets.token_urlsafe(32),
        created_at=now,
        last_seen_at=now,
        expires_at=now + timedelta(hours=settings.session_absolute_timeout_hours),
        address=address[:64],
        user_agent=user_agent[:200],
    )
    session.add(row)
    session.flush()
    _cap_sessions(session, user.id, settings.sessions_per_user_max)
    _touch_user(session, user, last_login_at=now)
    audit.record(
        session,
        "login",
        "users",
        user.id,
        f"{user.username} signed in from {address}",
        actor=audit.Actor(user.username, user.id),
    )
    return NewSession(raw, row)


def _cap_sessions(session: Session, user_id: int, keep: int) -> int:
    """End the user's oldest sessions beyond `keep` (the newest sign-in always stays)."""
    surplus = list(
        session.scalars(
            select(UserSession.id)
            .where(UserSession.user_id == user_id)
            .order_by(UserSession.created_at.desc(), UserSession.id.desc())
            .offset(keep)
        )
    )
    if surplus:
        session.execute(delete(UserSession).where(UserSession.id.in_(surplus)))
    return len(surplus)


def resolve_session(
    session: Session, settings: Settings, raw_id: str, now: datetime | None = None
) -> UserSession | None:
    """The live session for a cookie value, or None (unknown, expired, idle too long, user disabled)."""
    if not raw_id or len(raw_id) > 200:
        return None
    now = now or utc_now()
    row = session.scalars(
        select(UserSession).options(joinedload(UserSession.user)).where(UserSession.id_hash == digest(raw_id))
    ).first()
    if row is None:
        return None
    idle_limit = timedelta(minutes=settings.session_idle_timeout_minutes)
    if row.expires_at <= now or now - row.last_seen_at > idle_limit or not row.user.is_active:
        _bookkeeping(session, delete(UserSession).where(UserSession.id == row.id))
        return None
    if now - row.last_seen_at > TOUCH_EVERY:
        if _bookkeeping(
            session, update(UserSession).where(UserSession.id == row.id).values(last_seen_at=now)
        ):
            set_committed_value(row, "last_seen_at", now)
    return row


def _bookkeeping(session: Session, statement: Any) -> bool:
    """A small write a reading request makes (last seen/used, dropping an expired session), in a savepoint.

    A reading request's SQLite transaction does not hold the write lock; if another writer committed since
    it began, the write fails ("database is locked"). Losing it is harmless (the next request retries), so
    it never turns a read into an error."""
    try:
        with session.begin_nested():
            session.execute(statement)
    except OperationalError:
        return False
    return True


def end_session(session: Session, raw_id: str) -> None:
    row = session.scalars(
        select(UserSession).options(joinedload(UserSession.user)).where(UserSession.id_hash == digest(raw_id))
    ).first()
    if row is not None:
        audit.record(
            session,
            "logout",
            "users",
            row.user_id,
            f"{row.user.username} signed out",
            actor=audit.Actor(row.user.username, row.user_id),
        )
        session.delete(row)
        session.flush()


def end_user_sessions(session: Session, user_id: int) -> int:
    result = session.execute(delete(UserSession).where(UserSession.user_id == user_id))
    session.expire_all()
    return int(result.rowcount or 0)  # type: ignore[attr-defined]


def purge_expired_sessions(session: Session, settings: Settings) -> int:
    now = utc_now()
    idle = now - timedelta(minutes=settings.session_idle_timeout_minutes)
    result = session.execute(
        delete(UserSession).where((UserSession.expires_at <= now) | (UserSession.last_seen_at < idle))
    )
    return int(result.rowcount or 0)  # type: ignore[attr-defined]


# ---- API tokens ------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class NewToken:
    raw: str
    row: ApiToken


def create_token(
    session: Session,
    settings: Settings,
    creator: User,
    creator_role: str,
    name: str,
    role: str,
    expires_in_days: int,
    address: str,
) -> NewToken:
    """A token with a role no higher than the creator's current one (a token's role when made by a token)."""
    _check_role(role)
    if not role_at_most(role, creator_role):
        raise ValidationFailed(f"a token's role cannot be above yours ({creator_role})", field="role")
    if not 1 <= expires_in_days <= 366:
        raise ValidationFailed("expires_in_days must be between 1 and 366", field="expires_in_days")
    limits = [
        (f"user:{creator.username.lower()}", settings.token_creations_per_window),
        (f"addr:{address}", settings.token_creations_per_window),
    ]
    rate_limits.check(session, "token", limits, settings.rate_limit_window_seconds, "tokens created")
    rate_limits.note(session, "token", [s for s, _ in limits], settings.rate_limit_window_seconds)
    raw = TOKEN_PREFIX + secrets.token_urlsafe(32)
    now = utc_now()
    row = ApiToken(
        name=name.strip()[:120] or "token",
        token_hash=digest(raw),
        prefix=raw[:12],
        role=role,
        user_id=creator.id,
        created_at=now,
        expires_at=now + timedelta(days=expires_in_days),
    )
    session.add(row)
    session.flush()
    audit.record(
        session,
        "token_create",
        "api_tokens",
        row.id,
        f"API token '{row.name}' ({row.prefix}…) created with role {role}, expires {row.expires_at:%Y-%m-%d}",
        after=audit.snapshot(row),
    )
    return NewToken(raw, row)


def resolve_token(session: Session, raw: str, now: datetime | None = None) -> ApiToken | None:
    """The live token for a bearer value, or None (unknown, revoked, expired, owner disabled)."""
    if not raw.startswith(TOKEN_PREFIX) or len(raw) > 200:
        return None
    now = now or utc_now()
    row = session.scalars(
        select(ApiToken).options(joinedload(ApiToken.user)).where(ApiToken.token_hash == digest(raw))
    ).first()
    if row is None or row.revoked_at is not None or row.expires_at <= now or not row.user.is_active:
        return None
    if row.last_used_at is None or now - row.last_used_at > TOUCH_EVERY:
        if _bookkeeping(session, update(ApiToken).where(ApiToken.id == row.id).values(last_used_at=now)):
            set_committed_value(row, "last_used_at", now)
    return row


def list_tokens(session: Session, user_id: int | None = None) -> list[ApiToken]:
    query = select(ApiToken).order_by(ApiToken.created_at.desc(), ApiToken.id.desc())
    if user_id is not None:
        query = query.where(ApiToken.user_id == user_id)
    return list(session.scalars(query))


def get_token(session: Session, token_id: int) -> ApiToken:
    row = session.get(ApiToken, token_id)
    if row is None:
        raise NotFoundError(f"API token {token_id} does not exist")
    return row


def revoke_user_tokens(session: Session, user: User, reason: str) -> int:
    """Revoke every live API token of `user` (a password change or a disable): one audit entry per token."""
    rows = list(
        session.scalars(select(ApiToken).where(ApiToken.user_id == user.id, ApiToken.revoked_at.is_(None)))
    )
    for row in rows:
        revoke_token(session, row, reason=reason)
    return len(rows)


def revoke_token(session: Session, row: ApiToken, reason: str = "") -> None:
    if row.revoked_at is not None:
        return
    before = audit.snapshot(row)
    row.revoked_at = utc_now()
    session.flush()
    audit.record(
        session,
        "token_revoke",
        "api_tokens",
        row.id,
        f"API token '{row.name}' ({row.prefix}…) revoked" + (f" ({reason})" if reason else ""),
        before=before,
        after=audit.snapshot(row),
    )


# ---- first start -----------------------------------------------------------------------------------------


def issue_setup_token(session: Session, settings: Settings) -> str | None:
    """A one-time token for /setup when there are no users yet (else None)."""
    if user_count(session):
        return None
    raw = secrets.token_urlsafe(32)
    now = utc_now()
    session.execute(delete(SetupToken).where(SetupToken.expires_at <= now))
    session.add(
        SetupToken(
            token_hash=digest(raw),
            created_at=now,
            expires_at=now + timedelta(hours=settings.setup_token_hours),
        )
    )
    session.flush()
    return raw


def setup_token_valid(session: Session, raw: str) -> bool:
    if not raw or len(raw) > 200:
        return False
    row = session.scalars(select(SetupToken).where(SetupToken.token_hash == digest(raw))).first()
    return row is not None and row.expires_at > utc_now()


def create_first_admin(session: Session, raw_token: str, username: str, password: str) -> User:
    """Spend the setup token: create the first admin, then every setup token is void."""
    if user_count(session):
        raise ConflictError("the first admin already exists; sign in instead")
    if not setup_token_valid(session, raw_token):
        raise ValidationFailed(
            "the setup token is wrong or expired; restart the app for a new one", field="token"
        )
    passwords.check_password_rules(password, _check_username(username))  # before the token is spent
    # Lock out a second concurrent setup: deleting the tokens first makes the loser's delete find nothing.
    deleted = session.execute(delete(SetupToken).where(SetupToken.token_hash == digest(raw_token)))
    if not deleted.rowcount:  # type: ignore[attr-defined]
        raise ConflictError("the setup token was just used")
    user = create_user(session, username, password, "admin")
    session.execute(delete(SetupToken))
    return user
