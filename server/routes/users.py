"""Users and tokens (用户与令牌), for administrators only: ``/api/users``.

Add a user with a role, townships and an initial password (the password policy of
:func:`gis.access.auth.check_password_policy` applies), change role and townships, disable,
reset the password, enable again, list, create and revoke tokens. Disabling and a new
password end every session and token of that user; a token's secret is shown once, when it is
created. Every change is audited (``auth_events``). An administrator cannot disable themself.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path
from pydantic import BaseModel, Field

from gis.access import users
from server.deps import SessionDep, committing
from server.security import principal_dep

router = APIRouter(prefix="/api/users", tags=["users"])
Admin = principal_dep("user:manage")
Role = Annotated[str, Field(pattern="^(admin|office|township|inspector|viewer)$")]
TownshipCode = Annotated[str, Field(pattern=r"^[0-9]{12}$")]
UserName = Annotated[str, Path(min_length=1, max_length=100)]


class UserCreate(BaseModel):
    """A new account; township and inspector users need at least one township."""

    name: str = Field(min_length=1, max_length=100, examples=["zhang-town"])
    role: Role = Field(examples=["township"])
    townships: list[TownshipCode] = Field(default_factory=list, max_length=200)
    password: str = Field(
        min_length=1, max_length=200, description="12 characters or more, not guessable"
    )


class RoleChange(BaseModel):
    """The new role and townships (office and admin: the whole county)."""

    role: Role
    townships: list[TownshipCode] = Field(default_factory=list, max_length=200)
    version: str | None = Field(None, description="the user's version as read; refused if stale")


class PasswordReset(BaseModel):
    """A new password; every session and token of the user ends."""

    password: str = Field(min_length=1, max_length=200)


class TokenCreate(BaseModel):
    """A bearer token for scripts, the field app or a wall."""

    label: str = Field("", max_length=200, examples=["wall kiosk"])
    days: int | None = Field(90, ge=1, le=3650, description="days until it expires; null never")


@router.get("", summary="Users with roles, townships and usable token counts")
def users_list(_: Admin, session: SessionDep) -> list[dict]:
    return users.list_users(session)


@router.post("", status_code=201, summary="Add a user")
def users_create(principal: Admin, body: UserCreate, session: SessionDep) -> dict:
    with committing(session):
        users.add_user(
            session,
            name=body.name,
            role=body.role,
            password=body.password,
            townships=body.townships,
            actor=principal.name,
        )
    return users.get_user_dict(session, body.name.strip())


@router.get("/{name}", summary="One user")
def users_read(_: Admin, name: UserName, session: SessionDep) -> dict:
    return users.get_user_dict(session, name)


@router.put("/{name}/role", summary="Change a user's role and townships")
def users_role(principal: Admin, name: UserName, body: RoleChange, session: SessionDep) -> dict:
    with committing(session):
        users.change_role(
            session,
            name=name,
            role=body.role,
            townships=body.townships,
            actor=principal.name,
            version=body.version,
        )
    return users.get_user_dict(session, name)


@router.post("/{name}/disable", summary="Disable a user; their sessions and tokens end")
def users_disable(principal: Admin, name: UserName, session: SessionDep) -> dict:
    with committing(session):
        users.disable(session, name=name, actor=principal.name)
    return users.get_user_dict(session, name)


@router.post("/{name}/enable", summary="Enable a disabled or locked user again")
def users_enable(principal: Admin, name: UserName, session: SessionDep) -> dict:
    with committing(session):
        users.enable(session, name=name, actor=principal.name)
    return users.get_user_dict(session, name)


@router.post("/{name}/password", summary="Reset a user's password; their sessions and tokens end")
def users_password(
    principal: Admin, name: UserName, body: PasswordReset, session: SessionDep
) -> dict:
    with committing(session):
        users.reset_password(session, name=name, password=body.password, actor=principal.name)
    return users.get_user_dict(session, name)


@router.get("/{name}/tokens", summary="A user's tokens (never the secrets)")
def tokens_list(_: Admin, name: UserName, session: SessionDep) -> list[dict]:
    return users.list_tokens(session, name)


@router.post("/{name}/tokens", status_code=201, summary="Create a token (the secret is shown once)")
def tokens_create(principal: Admin, name: UserName, body: TokenCreate, session: SessionDep) -> dict:
    with committing(session):
        raw, record = users.new_token(
            session, name=name, label=body.label, days=body.days, actor=principal.name
        )
    return {**record, "token": raw}


@router.delete("/{name}/tokens/{token_id}", summary="Revoke a token")
def tokens_revoke(principal: Admin, name: UserName, token_id: int, session: SessionDep) -> dict:
    with committing(session):
        return users.revoke_user_token(session, name=name, token_id=token_id, actor=principal.name)
