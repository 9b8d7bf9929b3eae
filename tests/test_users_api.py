"""``/api/users``: administrators add, change, disable users and reset passwords, and create and
revoke tokens; every change is audited; nobody else may; nobody disables themself."""

from __future__ import annotations

from datetime import date

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import text
from sqlalchemy.orm import Session

from gis.access import auth
from gis.config import Settings
from server.app import create_app
from tests.factories import EAST, WEST, load_two_townships, make_token

PASSWORD = "river-sand-dispatch-42"
NEW_PASSWORD = "quarry-lantern-meadow-97"


@pytest.fixture
def county(db):  # type: ignore[no-untyped-def]
    with Session(db) as s, s.begin():
        load_two_townships(s)
        auth.add_user(s, name="root-admin", role="admin", password=PASSWORD, actor="test")
        raw = auth.create_token(s, name="root-admin", actor="test")
    app = create_app(engine=db, settings=Settings(), clock=lambda: date(2026, 3, 5))
    return app, TestClient(app, headers={"Authorization": f"Bearer {raw}"})


def _events(db, subject: str) -> list[str]:  # type: ignore[no-untyped-def]
    with db.connect() as conn:
        rows = conn.execute(
            text("SELECT action, actor FROM auth_events WHERE subject = :s ORDER BY id"),
            {"s": subject},
        ).all()
    return [f"{r.action}:{r.actor}" for r in rows]


def _add(client, name: str = "zhang", **extra):  # type: ignore[no-untyped-def]
    body = {"name": name, "role": "township", "townships": [WEST], "password": PASSWORD, **extra}
    return client.post("/api/users", json=body)


def test_add_list_read_and_audit(county, db) -> None:  # type: ignore[no-untyped-def]
    _, admin = county
    resp = _add(admin)
    assert resp.status_code == 201, resp.text
    added = resp.json()
    assert added["name"] == "zhang" and added["role"] == "township"
    assert added["townships"] == [WEST] and added["disabled"] is False
    assert added["has_password"] is True and "password_hash" not in added
    names = [u["name"] for u in admin.get("/api/users").json()]
    assert names == ["root-admin", "zhang"]
    assert admin.get("/api/users/zhang").json()["version"] == added["version"]
    assert admin.get("/api/users/nobody").status_code == 404
    assert _events(db, "zhang") == ["user_added:root-admin"]
    # the new user signs in with the initial password
    with Session(db) as s, s.begin():
        assert auth.verify_password(s, name="zhang", password=PASSWORD).role == "township"


def test_add_refusals(county) -> None:  # type: ignore[no-untyped-def]
    _, admin = county
    weak = _add(admin, password="password123")
    assert weak.status_code == 422 and "密码" in weak.json()["detail"]
    short = _add(admin, password="short")
    assert short.status_code == 422 and "12" in short.json()["detail"]
    no_town = _add(admin, townships=[])
    assert no_town.status_code == 422 and "township" in no_town.json()["detail"]
    unknown = _add(admin, townships=["999999999999"])
    assert unknown.status_code == 422 and "999999999999" in unknown.json()["detail"]
    bad_role = _add(admin, role="mayor")
    assert bad_role.status_code == 422
    assert admin.get("/api/users").json()[0]["name"] == "root-admin"
    assert len(admin.get("/api/users").json()) == 1
    assert _add(admin).status_code == 201
    again = _add(admin)
    assert again.status_code == 422 and "exists" in again.json()["detail"]


def test_change_role_and_stale_version(county, db) -> None:  # type: ignore[no-untyped-def]
    _, admin = county
    version = _add(admin).json()["version"]
    moved = admin.put(
        "/api/users/zhang/role",
        json={"role": "inspector", "townships": [EAST, WEST], "version": version},
    )
    assert moved.status_code == 200, moved.text
    assert moved.json()["role"] == "inspector" and moved.json()["townships"] == [EAST, WEST]
    stale = admin.put("/api/users/zhang/role", json={"role": "office", "version": version})
    assert stale.status_code == 409
    assert admin.get("/api/users/zhang").json()["role"] == "inspector"
    office = admin.put("/api/users/zhang/role", json={"role": "office", "townships": [WEST]})
    assert office.json()["townships"] == []  # the office sees the whole county
    demote = admin.put("/api/users/root-admin/role", json={"role": "viewer"})
    assert demote.status_code == 409
    assert _events(db, "zhang") == [
        "user_added:root-admin",
        "role_changed:root-admin",
        "role_changed:root-admin",
    ]


def test_token_works_then_revoked_token_is_refused(county, db) -> None:  # type: ignore[no-untyped-def]
    app, admin = county
    _add(admin)
    created = admin.post("/api/users/zhang/tokens", json={"label": "field tablet", "days": 30})
    assert created.status_code == 201, created.text
    secret = created.json()["token"]
    assert secret.startswith("lb_") and created.json()["active"] is True
    listed = admin.get("/api/users/zhang/tokens").json()
    assert [t["label"] for t in listed] == ["field tablet"]
    assert all("token" not in t and "token_hash" not in t for t in listed)
    assert admin.get("/api/users").json()[1]["active_tokens"] == 1
    own = TestClient(app, headers={"Authorization": f"Bearer {secret}"})
    me = own.get("/auth/me")
    assert me.status_code == 200 and me.json()["name"] == "zhang"
    token_id = created.json()["id"]
    # a token of another user is not found under this one
    assert admin.delete(f"/api/users/root-admin/tokens/{token_id}").status_code == 404
    revoked = admin.delete(f"/api/users/zhang/tokens/{token_id}")
    assert revoked.status_code == 200 and revoked.json()["active"] is False
    assert own.get("/auth/me").status_code == 401
    assert admin.get("/api/users/zhang/tokens").json()[0]["revoked_at"] is not None
    with db.connect() as conn:
        actions = (
            conn.execute(
                text("SELECT action FROM auth_events WHERE actor = 'root-admin' ORDER BY id")
            )
            .scalars()
            .all()
        )
    assert actions[-2:] == ["token_created", "token_revoked"]


def test_disable_ends_tokens_and_self_disable_is_refused(county, db) -> None:  # type: ignore[no-untyped-def]
    app, admin = county
    version = _add(admin).json()["version"]
    secret = admin.post("/api/users/zhang/tokens", json={}).json()["token"]
    own = TestClient(app, headers={"Authorization": f"Bearer {secret}"})
    assert own.get("/auth/me").status_code == 200
    resp = admin.post("/api/users/zhang/disable")
    assert resp.status_code == 200 and resp.json()["disabled"] is True
    assert resp.json()["version"] != version
    assert own.get("/auth/me").status_code == 401
    assert admin.get("/api/users/zhang/tokens").json()[0]["active"] is False
    with Session(db) as s, s.begin(), pytest.raises(auth.AuthError):
        auth.verify_password(s, name="zhang", password=PASSWORD)
    assert admin.post("/api/users/zhang/tokens", json={}).status_code == 409
    myself = admin.post("/api/users/root-admin/disable")
    assert myself.status_code == 409 and "disable" in myself.json()["detail"]
    assert admin.get("/api/users/root-admin").json()["disabled"] is False
    assert admin.get("/auth/me").status_code == 200
    assert _events(db, "zhang")[-1] == "user_disabled:root-admin"
    # enabled again: the password works, the ended token stays ended
    again = admin.post("/api/users/zhang/enable")
    assert again.status_code == 200 and again.json()["disabled"] is False
    assert own.get("/auth/me").status_code == 401
    with Session(db) as s, s.begin():
        assert auth.verify_password(s, name="zhang", password=PASSWORD).name == "zhang"
    assert _events(db, "zhang")[-1] == "user_enabled:root-admin"


def test_reset_password_ends_sessions_and_tokens(county, db) -> None:  # type: ignore[no-untyped-def]
    app, admin = county
    _add(admin)
    secret = admin.post("/api/users/zhang/tokens", json={}).json()["token"]
    browser = TestClient(app)
    signed_in = browser.post(
        "/auth/login", data={"name": "zhang", "password": PASSWORD}, follow_redirects=False
    )
    assert signed_in.status_code == 303
    assert browser.get("/auth/me").status_code == 200
    weak = admin.post("/api/users/zhang/password", json={"password": "zhang12345678"})
    assert weak.status_code == 422
    assert browser.get("/auth/me").status_code == 200  # a refused reset changes nothing
    ok = admin.post("/api/users/zhang/password", json={"password": NEW_PASSWORD})
    assert ok.status_code == 200, ok.text
    assert browser.get("/auth/me").status_code == 401
    own = TestClient(app, headers={"Authorization": f"Bearer {secret}"})
    assert own.get("/auth/me").status_code == 401
    with Session(db) as s, s.begin():
        assert auth.verify_password(s, name="zhang", password=NEW_PASSWORD).name == "zhang"
    assert "password_changed:root-admin" in _events(db, "zhang")


@pytest.mark.parametrize("role", ["office", "township", "inspector", "viewer"])
def test_only_admins(county, db, role: str) -> None:  # type: ignore[no-untyped-def]
    app, admin = county
    _add(admin)
    towns = [WEST] if role in ("township", "inspector") else None
    client = TestClient(app, headers=make_token(db, role, towns))
    calls = [
        ("GET", "/api/users", None),
        ("POST", "/api/users", {"name": "x", "role": "admin", "password": NEW_PASSWORD}),
        ("GET", "/api/users/zhang", None),
        ("PUT", "/api/users/zhang/role", {"role": "admin"}),
        ("POST", "/api/users/zhang/disable", None),
        ("POST", "/api/users/zhang/enable", None),
        ("POST", "/api/users/zhang/password", {"password": NEW_PASSWORD}),
        ("GET", "/api/users/zhang/tokens", None),
        ("POST", "/api/users/zhang/tokens", {}),
        ("DELETE", "/api/users/zhang/tokens/1", None),
    ]
    for method, url, body in calls:
        resp = client.request(method, url, json=body)
        assert resp.status_code == 403, (method, url, resp.status_code)
    assert admin.get("/api/users/zhang").json()["role"] == "township"
    assert admin.get("/api/users/zhang").json()["disabled"] is False
    assert admin.get("/api/users/zhang/tokens").json() == []
    anonymous = TestClient(app).get("/api/users")
    assert anonymous.status_code == 401


def test_the_command_line_lists_users_and_tokens(county, db, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    from typer.testing import CliRunner

    import server.cli.main as cli_main

    monkeypatch.setattr(cli_main, "_session", lambda: Session(db))
    runner = CliRunner(env={"COLUMNS": "200"})
    users = runner.invoke(cli_main.app, ["user", "list"])
    assert users.exit_code == 0, users.output
    with Session(db) as s:
        names = [u for (u,) in s.execute(text("SELECT name FROM users ORDER BY name"))]
    assert names and all(n in users.output for n in names)
    tokens = runner.invoke(cli_main.app, ["token", "list"])
    assert tokens.exit_code == 0, tokens.output
    with Session(db) as s:
        n = s.execute(text("SELECT count(*) FROM api_tokens")).scalar_one()
    assert n > 0 and tokens.output.count("never") + tokens.output.count("20") >= n
    assert auth.TOKEN_PREFIX not in tokens.output  # never a secret
