"""Users and API tokens (admin), and the caller's own account."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Literal

from fastapi import APIRouter, Request, Response, status
from fastapi.responses import JSONResponse
from pydantic import BaseModel, ConfigDict, Field

from app.config import get_settings
from app.db.access import ApiToken, User
from app.services import accounts
from app.web.auth import Admin, Principal, client_address, require_role
from app.web.deps import SessionDep
from app.web.schemas import ErrorDetail, IdPath

Role = Literal["viewer", "editor", "admin"]
Password = Annotated[str, Field(min_length=1, max_length=256)]
STRICT = ConfigDict(extra="forbid", strict=True, str_strip_whitespace=False)
ERRORS: dict[int | str, dict[str, object]] = {
    401: {"model": ErrorDetail, "description": "Not signed in"},
    403: {"model": ErrorDetail, "description": "Role too low"},
    404: {"model": ErrorDetail, "description": "Unknown id"},
    409: {"model": ErrorDetail, "description": "Name clash or stale version"},
}


class UserRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    username: str
    role: Role
    is_active: bool
    created_at: datetime
    updated_at: datetime
    last_login_at: datetime | None
    password_changed_at: datetime | None
    version: int


class UserCreate(BaseModel):
    model_config = STRICT

    username: Annotated[str, Field(min_length=1, max_length=80, pattern=r"^[A-Za-z0-9._@-]+$")]
    password: Password
    role: Role = "viewer"


class UserUpdate(BaseModel):
    model_config = STRICT

    version: Annotated[int, Field(ge=1)]
    role: Role | None = None
    is_active: bool | None = Field(
        default=None, description="false disables the user and ends their sessions"
    )
    password: Password | None = Field(default=None, description="a new password; ends the user's sessions")


class PasswordChange(BaseModel):
    model_config = STRICT

    current_password: Password
    new_password: Password


class TokenCreate(BaseModel):
    model_config = STRICT

    name: Annotated[str, Field(min_length=1, max_length=120)]
    role: Role = "viewer"
    expires_in_days: Annotated[int, Field(ge=1, le=366)] = 90


class TokenRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    name: str
    prefix: str = Field(description="The first characters of the token, to recognise it")
    role: Role
    user_id: int
    created_at: datetime
    expires_at: datetime
    revoked_at: datetime | None
    last_used_at: datetime | None


class TokenCreated(TokenRead):
    token: str = Field(description="The secret: shown this once, stored only as a SHA-256 digest")


class Me(BaseModel):
    username: str
    role: Role
    via: Literal["session", "token"]


users = APIRouter(prefix="/users", tags=["users"], responses=ERRORS, dependencies=[require_role("admin")])
me = APIRouter(prefix="/me", tags=["users"], responses=ERRORS, dependencies=[require_role("viewer")])
tokens = APIRouter(prefix="/tokens", tags=["tokens"], responses=ERRORS, dependencies=[require_role("admin")])


@users.get("", response_model=list[UserRead], summary="Every user")
def list_users(session: SessionDep) -> list[User]:
    return accounts.list_users(session)


@users.post("", response_model=UserRead, status_code=status.HTTP_201_CREATED, summary="Create a user")
def create_user(body: UserCreate, session: SessionDep, response: Response) -> User:
    user = accounts.create_user(session, body.username, body.password, body.role)
    response.headers["Location"] = f"/api/v1/users/{user.id}"
    return user


@users.get("/{user_id}", response_model=UserRead, summary="One user")
def get_user(user_id: IdPath, session: SessionDep) -> User:
    return accounts.get_user(session, user_id)


@users.delete(
    "/{user_id}/sign-in-limits",
    status_code=status.HTTP_204_NO_CONTENT,
    summary="Lift the sign-in back-off of this user from every address (audited)",
)
def clear_sign_in_limits(user_id: IdPath, session: SessionDep) -> Response:
    accounts.clear_sign_in_limits(session, accounts.get_user(session, user_id))
    return Response(status_code=status.HTTP_204_NO_CONTENT)


@users.patch("/{user_id}", response_model=UserRead, summary="Change role, disable/enable, or set a password")
def update_user(user_id: IdPath, body: UserUpdate, session: SessionDep) -> User:
    user = accounts.get_user(session, user_id)
    return accounts.update_user(
        session, user, body.version, role=body.role, is_active=body.is_active, password=body.password
    )


def _principal_user(session: SessionDep, principal: Principal | None) -> User:
    from app.web.auth import NotSignedIn

    if principal is None:
        raise NotSignedIn()
    return accounts.get_user(session, principal.user_id)


@me.get("", response_model=Me, summary="Who am I")
def who_am_i(request: Request) -> Me:
    from app.web.auth import NotSignedIn

    principal = request.state.principal
    if principal is None:
        raise NotSignedIn()
    return Me(username=principal.username, role=principal.role, via=principal.via)


@me.post(
    "/password",
    status_code=status.HTTP_204_NO_CONTENT,
    summary="Change my password (signed-in session only; ends my sessions and revokes my API tokens)",
    responses={
        403: {"description": "Sent with an API token: a password changes only in a signed-in session"},
        429: {"description": "Too many wrong current passwords (counted like failed sign-ins)"},
    },
)
def change_password(body: PasswordChange, session: SessionDep, request: Request) -> Response:
    from app.web.auth import Forbidden

    principal = request.state.principal
    if principal is not None and principal.via != "session":
        raise Forbidden("a password changes only in a signed-in session, never with an API token")
    user = _principal_user(session, principal)
    try:
        accounts.change_own_password(
            session, get_settings(), user, body.current_password, body.new_password, client_address(request)
        )
    except accounts.WrongCurrentPassword as exc:
        # answered, not raised: the counted failure and its audit entry must commit
        detail = [{"loc": ["body", "current_password"], "msg": exc.message, "type": "value_error"}]
        return JSONResponse({"detail": detail}, status_code=422)
    return Response(status_code=status.HTTP_204_NO_CONTENT)


@tokens.get("", response_model=list[TokenRead], summary="Every API token (never the secret)")
def list_tokens(session: SessionDep) -> list[ApiToken]:
    return accounts.list_tokens(session)


@tokens.post(
    "",
    response_model=TokenCreated,
    status_code=status.HTTP_201_CREATED,
    summary="Create a token: its role is at most yours; the secret is shown once",
    responses={429: {"model": ErrorDetail, "description": "Too many tokens created; see Retry-After"}},
)
def create_token(body: TokenCreate, session: SessionDep, principal: Admin, request: Request) -> TokenCreated:
    creator = accounts.get_user(session, principal.user_id)
    new = accounts.create_token(
        session,
        get_settings(),
        creator,
        principal.role,
        body.name,
        body.role,
        body.expires_in_days,
        client_address(request),
    )
    return TokenCreated(**TokenRead.model_validate(new.row).model_dump(), token=new.raw)


@tokens.get("/{token_id}", response_model=TokenRead, summary="One API token (never the secret)")
def get_token(token_id: IdPath, session: SessionDep) -> ApiToken:
    return accounts.get_token(session, token_id)


@tokens.delete("/{token_id}", status_code=status.HTTP_204_NO_CONTENT, summary="Revoke a token")
def revoke_token(token_id: IdPath, session: SessionDep) -> Response:
    accounts.revoke_token(session, accounts.get_token(session, token_id))
    return Response(status_code=status.HTTP_204_NO_CONTENT)


routers = [me, users, tokens]
