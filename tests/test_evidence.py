"""Evidence documents of a problem: typed, checked by their bytes, limited in size, stored once
by content, served back as they were, and kept within the caller's townships."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import text
from sqlalchemy.orm import Session

from gis.config import Settings
from gis.db.blobs import blob_path, sha256_hex
from gis.ledger import evidence as docs
from server.app import create_app
from tests import evidence_files as files
from tests.factories import EAST, WEST, load_two_townships, make_token, new_problem

ACCEPTED = [
    ("plan.pdf", files.pdf, "application/pdf"),
    ("before.jpg", lambda: files.image("JPEG"), "image/jpeg"),
    ("after.png", lambda: files.image("PNG"), "image/png"),
    ("after.webp", lambda: files.image("WEBP"), "image/webp"),
    ("验收.docx", files.docx, docs.DOCX),
    ("清单.xlsx", files.xlsx, docs.XLSX),
    ("方案.doc", files.doc, "application/msword"),
    ("台账.xls", files.xls, "application/vnd.ms-excel"),
]


@pytest.fixture
def county(db, tmp_path: Path):  # type: ignore[no-untyped-def]
    """Two townships with a problem each, an app storing files under tmp_path, role tokens."""
    with Session(db) as s, s.begin():
        load_two_townships(s)
        new_problem(s, "W-1", lon=113.05)
        new_problem(s, "E-1", lon=113.15)
    app = create_app(engine=db, settings=Settings(home=tmp_path), clock=lambda: date(2026, 3, 5))
    tokens = {
        "office": make_token(db, "office"),
        "west": make_token(db, "township", [WEST], name="西镇干部"),
        "east": make_token(db, "township", [EAST], name="东镇干部"),
        "viewer": make_token(db, "viewer"),
        "inspector": make_token(db, "inspector", [WEST]),
    }
    return app, tokens


def upload(client, code: str, data: bytes, name: str, kind: str, note: str = ""):  # type: ignore[no-untyped-def]
    return client.post(
        f"/api/problems/{code}/evidence",
        files={"file": (name, data, "application/octet-stream")},
        data={"kind": kind, "note": note},
    )


def _rows(db) -> list[dict]:  # type: ignore[no-untyped-def]
    with db.connect() as conn:
        return [
            dict(r)
            for r in conn.execute(
                text("SELECT id, kind, media_type, sha256, uploaded_by, uploader_id, note"
                     " FROM attachments ORDER BY id")
            ).mappings()
        ]


@pytest.mark.parametrize(("name", "make", "media_type"), ACCEPTED)
def test_every_accepted_type_is_known_by_its_bytes(name: str, make, media_type: str) -> None:  # type: ignore[no-untyped-def]
    data = make()
    assert docs.sniff_document(data) == media_type
    kind = "after_photo" if media_type.startswith("image/") else "acceptance"
    checked = docs.check_document(data, filename=name, kind=kind, max_bytes=10**6)
    assert checked.media_type == media_type and checked.sha256 == sha256_hex(data)
    # the name does not decide: the same bytes under another name are the same type
    assert docs.sniff_document(data) == docs.check_document(
        data, filename="scan", kind=kind, max_bytes=10**6
    ).media_type


@pytest.mark.parametrize("data", [files.exe(), files.plain_zip(), files.ppt(), b"hello, world"])
def test_other_content_is_refused_whatever_its_name(data: bytes) -> None:
    assert docs.sniff_document(data) is None
    with pytest.raises(docs.UnsupportedEvidence, match="not accepted") as refused:
        docs.check_document(data, filename="plan.pdf", kind="plan", max_bytes=10**6)
    assert "按文件内容判断" in refused.value.zh


@pytest.mark.parametrize("kind", docs.KINDS)
def test_each_kind_is_stored_listed_and_recorded(county, db, kind: str) -> None:  # type: ignore[no-untyped-def]
    app, tokens = county
    west = TestClient(app, headers=tokens["west"])
    data = files.image("PNG", "blue") if kind.endswith("photo") else files.pdf(kind)
    name = "photo.png" if kind.endswith("photo") else f"{kind}.pdf"
    resp = upload(west, "W-1", data, name, kind, note="第一批")
    assert resp.status_code == 201, resp.text
    body = resp.json()
    assert body["kind"] == kind and body["filename"] == name and body["note"] == "第一批"
    assert body["uploaded_by"] == "西镇干部"
    listed = west.get("/api/problems/W-1/evidence").json()
    assert [(i["id"], i["kind"]) for i in listed["items"]] == [(body["id"], kind)]
    assert listed["max_bytes"] == 20_000_000
    (row,) = _rows(db)
    assert row["uploader_id"] is not None and row["kind"] == kind
    assert blob_path(app.state.settings.attachments_dir, row["sha256"]).read_bytes() == data
    with db.connect() as conn:
        event = conn.execute(
            text("SELECT actor, action, reason, after FROM events WHERE action = 'evidence_added'")
        ).one()
    assert event.actor == "西镇干部" and event.reason == "第一批"
    assert event.after["evidence"] == {
        "id": body["id"], "kind": kind, "filename": name, "sha256": sha256_hex(data)
    }


def test_every_type_through_the_api_and_back_byte_identical(county) -> None:  # type: ignore[no-untyped-def]
    app, tokens = county
    office = TestClient(app, headers=tokens["office"])
    for name, make, media_type in ACCEPTED:
        data = make()
        kind = "before_photo" if media_type.startswith("image/") else "plan"
        created = upload(office, "W-1", data, name, kind)
        assert created.status_code == 201, (name, created.text)
        assert created.json()["media_type"] == media_type
        got = office.get(created.json()["url"])
        assert got.status_code == 200
        assert got.content == data
        assert got.headers["content-type"].split(";")[0] == media_type
        assert got.headers["x-content-type-options"] == "nosniff"
        disposition = got.headers["content-disposition"]
        expected = "inline" if media_type.startswith("image/") else "attachment"
        assert disposition.startswith(expected + ";"), (name, disposition)
        assert "filename*=UTF-8''" in disposition
    assert len(office.get("/api/problems/W-1/evidence").json()["items"]) == len(ACCEPTED)


def test_an_exe_named_pdf_is_refused_and_nothing_is_kept(county, db) -> None:  # type: ignore[no-untyped-def]
    app, tokens = county
    west = TestClient(app, headers=tokens["west"])
    resp = upload(west, "W-1", files.exe(), "整改方案.pdf", "plan")
    assert resp.status_code == 415
    detail = resp.json()["detail"]
    assert "not accepted" in detail and "不支持此文件" in detail and resp.json()["field"] == "file"
    assert _rows(db) == []
    attachments = app.state.settings.attachments_dir
    assert not attachments.exists() or not any(p.is_file() for p in attachments.rglob("*"))
    # a real image under a document's name is refused too: the name lies about it
    lying = upload(west, "W-1", files.image("PNG"), "方案.pdf", "plan")
    assert lying.status_code == 415 and ".pdf" in lying.json()["detail"]
    assert "PNG" in lying.json()["detail"]
    # a photo kind takes images only
    photo = upload(west, "W-1", files.pdf(), "after.pdf", "after_photo")
    assert photo.status_code == 415 and "须为图像" in photo.json()["detail"]
    unknown = upload(west, "W-1", files.pdf(), "a.pdf", "receipt")
    assert unknown.status_code == 422 and unknown.json()["field"] == "kind"
    assert _rows(db) == []


def test_a_file_over_the_limit_is_refused_with_the_limit(county, db) -> None:  # type: ignore[no-untyped-def]
    app, tokens = county
    app.state.evidence_settings = docs.EvidenceSettings(max_mb=1)
    west = TestClient(app, headers=tokens["west"])
    just = files.pdf() + b"%" * (1_000_000 - len(files.pdf()))
    assert len(just) == 1_000_000
    assert upload(west, "W-1", just, "ok.pdf", "plan").status_code == 201
    over = just + b"%"
    resp = upload(west, "W-1", over, "big.pdf", "plan")
    assert resp.status_code == 413
    assert "1,000,000" in resp.json()["detail"] and "超过上限" in resp.json()["detail"]
    assert len(_rows(db)) == 1


def test_the_limit_stays_within_the_body_limit(db, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    from server.routes.evidence import FORM_OVERHEAD, evidence_limit

    with Session(db) as s, s.begin():
        load_two_townships(s)
        new_problem(s, "W-1", lon=113.05)
    app = create_app(engine=db, settings=Settings(home=tmp_path, max_body_mb=2))
    assert evidence_limit(app) == 2_000_000 - FORM_OVERHEAD  # not the 20 MB default
    office = TestClient(app, headers=make_token(db, "office"))
    big = files.pdf() + b"%" * 2_100_000
    resp = upload(office, "W-1", big, "big.pdf", "plan")
    assert resp.status_code == 413
    assert _rows(db) == []


def test_the_same_file_again_answers_with_the_stored_record(county, db) -> None:  # type: ignore[no-untyped-def]
    app, tokens = county
    west = TestClient(app, headers=tokens["west"])
    office = TestClient(app, headers=tokens["office"])
    data = files.pdf("同一份方案")
    first = upload(west, "W-1", data, "方案.pdf", "plan")
    again = upload(office, "W-1", data, "方案-副本.pdf", "acceptance")
    assert first.status_code == 201 and again.status_code == 200
    assert again.json() == first.json()
    # the same bytes on another problem are that problem's own document (one file on disk)
    elsewhere = upload(office, "E-1", data, "方案.pdf", "plan")
    assert elsewhere.status_code == 201 and elsewhere.json()["id"] != first.json()["id"]
    assert len(_rows(db)) == 2
    with db.connect() as conn:
        events = conn.execute(
            text("SELECT count(*) FROM events WHERE action = 'evidence_added'")
        ).scalar_one()
    assert events == 2
    attachments = app.state.settings.attachments_dir
    assert [p.name for p in attachments.rglob("*") if p.is_file()] == [sha256_hex(data)]


def test_the_file_is_restored_when_a_repeat_finds_it_missing(county) -> None:  # type: ignore[no-untyped-def]
    app, tokens = county
    west = TestClient(app, headers=tokens["west"])
    data = files.image("JPEG")
    first = upload(west, "W-1", data, "a.jpg", "before_photo").json()
    path = blob_path(app.state.settings.attachments_dir, first["sha256"])
    path.unlink()
    assert west.get(first["url"]).status_code == 404
    assert upload(west, "W-1", data, "a.jpg", "before_photo").status_code == 200
    assert west.get(first["url"]).content == data


def test_townships_see_and_upload_only_their_own(county, db) -> None:  # type: ignore[no-untyped-def]
    app, tokens = county
    west = TestClient(app, headers=tokens["west"])
    east = TestClient(app, headers=tokens["east"])
    mine = upload(east, "E-1", files.pdf("东"), "东.pdf", "plan").json()
    # another township's problem and a missing one answer alike: 403, nothing revealed
    for client_call in (
        lambda: west.get("/api/problems/E-1/evidence"),
        lambda: west.get(mine["url"]),
        lambda: upload(west, "E-1", files.pdf("西"), "西.pdf", "plan"),
        lambda: west.get("/api/problems/NO-SUCH/evidence"),
    ):
        resp = client_call()
        assert resp.status_code == 403, resp.text
        assert "townships" in resp.json()["detail"]
    assert len(_rows(db)) == 1
    # a west attachment id asked for under the east's code is not served either
    ours = upload(west, "W-1", files.pdf("西"), "西.pdf", "plan").json()
    assert east.get(ours["url"].replace("/W-1/", "/E-1/")).status_code == 404
    # viewers read, but neither they nor inspectors upload
    viewer = TestClient(app, headers=tokens["viewer"])
    assert viewer.get("/api/problems/E-1/evidence").status_code == 200
    assert viewer.get(mine["url"]).content == files.pdf("东")
    for role in ("viewer", "inspector"):
        denied = upload(TestClient(app, headers=tokens[role]), "W-1", files.pdf(), "x.pdf", "plan")
        assert denied.status_code == 403 and "role" in denied.json()["detail"]
    office = TestClient(app, headers=tokens["office"])
    assert office.get("/api/problems/NO-SUCH/evidence").status_code == 404


def test_an_upload_needs_multipart_and_a_file(county) -> None:  # type: ignore[no-untyped-def]
    app, tokens = county
    office = TestClient(app, headers=tokens["office"])
    assert office.post("/api/problems/W-1/evidence", json={}).status_code == 415
    no_file = office.post(
        "/api/problems/W-1/evidence", data={"kind": "plan"}, files={"x": ("a", b"")}
    )
    assert no_file.status_code == 422 and no_file.json()["field"] == "file"
    empty = upload(office, "W-1", b"", "empty.pdf", "plan")
    assert empty.status_code == 422 and "empty" in empty.json()["detail"]


def test_documents_are_offered_to_a_closure_application_with_their_kind(county, db) -> None:  # type: ignore[no-untyped-def]
    from gis.ledger import writes as ledger
    from gis.ledger.worklist import problem_evidence

    app, tokens = county
    west = TestClient(app, headers=tokens["west"])
    with Session(db) as s, s.begin():
        ledger.transition(s, "W-1", "assign", actor="office")
        ledger.transition(s, "W-1", "start", actor="西镇干部")
    plan = upload(west, "W-1", files.docx(), "方案.docx", "plan").json()
    after = upload(west, "W-1", files.image("PNG"), "后.png", "after_photo").json()
    with Session(db) as s:
        offered = problem_evidence(s, "W-1")["attachments"]
    assert [(a["id"], a["kind"]) for a in offered] == [
        (plan["id"], "plan"), (after["id"], "after_photo")
    ]
    with Session(db) as s, s.begin():
        ledger.transition(
            s, "W-1", "apply_closure", actor="西镇干部",
            attachment_ids=[plan["id"], after["id"]],
        )
    with db.connect() as conn:
        cited = conn.execute(text("SELECT evidence FROM closures")).scalar_one()
    assert cited["attachments"] == [plan["id"], after["id"]]
