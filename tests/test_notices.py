"""Escalation notices: rules over the clock, numbered documents in the history, real deliveries.

Deliveries go to receivers the tests start on 127.0.0.1 only: an aiosmtpd SMTP server and a
small HTTP server standing in for the DingTalk and WeCom robots and a generic webhook, which
verify the signatures the way the real receivers do.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import threading
import time as time_mod
from collections.abc import Iterator
from datetime import UTC, date, datetime, time, timedelta
from email import message_from_bytes, policy
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit
from zoneinfo import ZoneInfo

import pytest
from aiosmtpd.controller import Controller
from fastapi.testclient import TestClient
from sqlalchemy import Engine, func, select, text
from sqlalchemy.orm import Session
from typer.testing import CliRunner

from gis.config import Settings
from gis.db.embedded import free_port
from gis.db.models import Event, Notice, NoticeCounter, NoticeDelivery, NoticeRun
from gis.ledger import writes as ledger
from gis.notices import channels as ch
from gis.notices.config import NoticeSettings, get_notice_settings
from gis.notices.delivery import deliver_due
from gis.notices.directory import add_channel, add_contact, redacted_config
from gis.notices.numbering import next_number
from gis.notices.rules import create_rule, ensure_default_rules
from gis.notices.runner import LOCK_KEY, run_once
from gis.notices.scheduler import NoticeScheduler, start_scheduler
from tests.factories import EAST, WEST, add_inspection, close, load_two_townships, new_problem

SHANGHAI = ZoneInfo("Asia/Shanghai")
DEADLINE = date(2026, 4, 30)
DING_SECRET = "SEC0123456789abcdef"
DING_TOKEN = "tok-ding-123"
WECOM_KEY = "key-wecom-456"
HOOK_SECRET = "hook-secret-789"
# The receivers listen on 127.0.0.1, an internal address: the tests allow it as an admin would.
LOCAL = "127.0.0.1"
FAST = NoticeSettings(
    max_attempts=3, retry_base_s=60, retry_max_s=3600, timeout_s=3, allow_hosts=LOCAL
)


@pytest.fixture(autouse=True)
def _allow_the_local_receivers(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    monkeypatch.setenv("LOOKBACK_NOTICES_ALLOW_HOSTS", LOCAL)
    get_notice_settings.cache_clear()
    yield
    get_notice_settings.cache_clear()


def at_nine(day: date) -> datetime:
    """09:00 in Shanghai on ``day``."""
    return datetime.combine(day, time(9), tzinfo=SHANGHAI)


# -- receivers ----------------------------------------------------------------------------------


class Receiver(ThreadingHTTPServer):
    """DingTalk robot, WeCom robot and a generic webhook on one loopback port."""

    daemon_threads = True

    def __init__(self) -> None:
        super().__init__(("127.0.0.1", 0), _Handler)
        self.received: list[dict[str, Any]] = []
        self.rejected: list[dict[str, Any]] = []
        self.lock = threading.Lock()

    @property
    def base(self) -> str:
        return f"http://127.0.0.1:{self.server_address[1]}"

    def of(self, kind: str) -> list[dict[str, Any]]:
        with self.lock:
            return [r for r in self.received if r["kind"] == kind]


def _dingtalk_ok(query: dict[str, list[str]]) -> bool:
    """Check the robot's signature as DingTalk does: recompute it from timestamp and secret."""
    if query.get("access_token") != [DING_TOKEN]:
        return False
    try:
        timestamp, sign = query["timestamp"][0], query["sign"][0]
    except KeyError:
        return False
    if abs(int(timestamp) - time_mod.time() * 1000) > 3600_000:
        return False
    digest = hmac.new(
        DING_SECRET.encode(), f"{timestamp}\n{DING_SECRET}".encode(), hashlib.sha256
    ).digest()
    return hmac.compare_digest(base64.b64encode(digest).decode(), sign)


def _webhook_ok(headers: Any, body: bytes) -> bool:
    timestamp = headers.get("X-Lookback-Timestamp", "")
    expected = (
        "sha256="
        + hmac.new(
            HOOK_SECRET.encode(), timestamp.encode() + b"." + body, hashlib.sha256
        ).hexdigest()
    )
    return bool(timestamp) and hmac.compare_digest(
        expected, headers.get("X-Lookback-Signature", "")
    )


class _Handler(BaseHTTPRequestHandler):
    server: Receiver

    def log_message(self, *args: Any) -> None:  # quiet
        pass

    def _answer(self, status: int, payload: dict[str, Any]) -> None:
        data = json.dumps(payload).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def do_POST(self) -> None:  # noqa: N802 - http.server's name
        parts = urlsplit(self.path)
        query = parse_qs(parts.query)
        body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
        payload = json.loads(body)
        record = {"path": parts.path, "query": query, "payload": payload}
        if parts.path == "/dingtalk/robot/send":
            record["kind"], ok = "dingtalk", _dingtalk_ok(query)
            answer = (200, {"errcode": 0 if ok else 310000, "errmsg": "ok" if ok else "sign"})
        elif parts.path == "/wecom/send":
            record["kind"], ok = "wecom", query.get("key") == [WECOM_KEY]
            answer = (200, {"errcode": 0 if ok else 93000, "errmsg": "ok" if ok else "bad key"})
        elif parts.path == "/hook":
            record["kind"], ok = "webhook", _webhook_ok(self.headers, body)
            record["delivery"] = self.headers.get("X-Lookback-Delivery")
            answer = (204, {}) if ok else (401, {"error": "bad signature"})
        else:
            record["kind"], ok, answer = "unknown", False, (404, {})
        with self.server.lock:
            (self.server.received if ok else self.server.rejected).append(record)
        if answer[0] == 204:
            self.send_response(204)
            self.end_headers()
        else:
            self._answer(*answer)


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    server = Receiver()
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield server
    server.shutdown()
    server.server_close()


class Mailbox:
    """aiosmtpd handler keeping every message."""

    def __init__(self) -> None:
        self.messages: list[dict[str, Any]] = []

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:  # noqa: N802
        message = message_from_bytes(envelope.content, policy=policy.default)
        self.messages.append(
            {"from": envelope.mail_from, "to": list(envelope.rcpt_tos), "message": message}
        )
        return "250 OK"


@pytest.fixture
def smtp() -> Iterator[tuple[Mailbox, int]]:
    box = Mailbox()
    port = free_port()
    controller = Controller(box, hostname="127.0.0.1", port=port)
    controller.start()
    yield box, port
    controller.stop()


# -- the county ---------------------------------------------------------------------------------


def _seed(
    db: Engine, receiver: Receiver, smtp_port: int, *, webhook_url: str | None = None
) -> None:
    """Townships, default rules, contacts and the four channels."""
    with Session(db) as s, s.begin():
        load_two_townships(s)
        ensure_default_rules(s)
        add_contact(
            s,
            name="王伟",
            role="responsible_person",
            unit="县住建局",
            email="wangwei@zjj.example",
            phone="13800000001",
        )
        add_contact(
            s,
            name="李镇长",
            role="township_head",
            township_code=WEST,
            email="li@xizhen.example",
            phone="13800000002",
        )
        add_contact(
            s, name="赵镇长", role="township_head", township_code=EAST, email="zhao@dz.example"
        )
        add_contact(s, name="督察办", role="office", email="office@county.example")
        add_channel(
            s,
            name="mail",
            kind="email",
            config={"host": "127.0.0.1", "port": smtp_port, "from_addr": "notices@county.example"},
        )
        add_channel(
            s,
            name="ding",
            kind="dingtalk",
            config={
                "url": f"{receiver.base}/dingtalk/robot/send?access_token={DING_TOKEN}",
                "secret": DING_SECRET,
            },
        )
        add_channel(
            s,
            name="wecom",
            kind="wecom",
            config={"url": f"{receiver.base}/wecom/send?key={WECOM_KEY}"},
        )
        add_channel(
            s,
            name="hook",
            kind="webhook",
            config={"url": webhook_url or f"{receiver.base}/hook", "secret": HOOK_SECRET},
        )


@pytest.fixture
def county(db: Engine, receiver: Receiver, smtp: tuple[Mailbox, int]):  # type: ignore[no-untyped-def]
    """The seeded county with one problem (T-001 in 西镇, due 2026-04-30) and the receivers."""
    _seed(db, receiver, smtp[1])
    with Session(db) as s, s.begin():
        new_problem(s, "T-001", deadline=DEADLINE)
    return db, receiver, smtp[0]


def _count(db: Engine, model: type) -> int:
    with Session(db) as s:
        return int(s.scalar(select(func.count()).select_from(model)) or 0)


def _notices(db: Engine) -> list[Notice]:
    with Session(db) as s:
        return list(s.scalars(select(Notice).order_by(Notice.id)))


# -- signatures ---------------------------------------------------------------------------------


def test_signatures_match_the_receivers_recipes() -> None:
    sign = ch.dingtalk_sign("SECxyz", 1700000000000)
    digest = hmac.new(b"SECxyz", b"1700000000000\nSECxyz", hashlib.sha256).digest()
    assert parse_qs(f"s={sign}")["s"][0] == base64.b64encode(digest).decode()
    assert "%" in sign or "+" not in sign  # URL-encoded
    url = ch.dingtalk_url("http://127.0.0.1/r?access_token=t", "SECxyz", 1700000000000)
    assert url.endswith(f"&timestamp=1700000000000&sign={sign}")
    body = b'{"a":1}'
    expected = hmac.new(b"k", b"17." + body, hashlib.sha256).hexdigest()
    assert ch.webhook_signature("k", "17", body) == "sha256=" + expected


def test_channel_settings_are_validated_and_redacted(db: Engine) -> None:
    with Session(db) as s, s.begin():
        with pytest.raises(ledger.LedgerError, match="needs secret"):
            add_channel(s, name="h", kind="webhook", config={"url": "http://127.0.0.1/h"})
        with pytest.raises(ledger.LedgerError, match="http"):
            add_channel(s, name="w", kind="wecom", config={"url": "ftp://x"})
        with pytest.raises(ledger.LedgerError, match="unknown"):
            add_channel(s, name="w", kind="wecom", config={"url": "http://x/", "colour": 1})
    shown = redacted_config(
        {"url": "http://127.0.0.1/robot/send?access_token=abc", "secret": "SECabc", "port": 25}
    )
    assert shown == {
        "url": "http://127.0.0.1/robot/send?access_token=%2A%2A%2A",
        "secret": "***",
        "port": 25,
    }


# -- the clock over the colour boundaries -------------------------------------------------------


def test_each_colour_boundary_sends_exactly_one_notice(county) -> None:  # type: ignore[no-untyped-def]
    db, receiver, mailbox = county
    day = DEADLINE - timedelta(days=10)
    while day <= DEADLINE + timedelta(days=36):
        report = run_once(db, today=day, now=at_nine(day), settings=FAST)
        assert report.skipped is None and report.errors == []
        day += timedelta(days=1)
    notices = _notices(db)
    assert [(n.rule_name, n.issued_on) for n in notices] == [
        ("blue_reminder", DEADLINE - timedelta(days=7)),
        ("yellow_warning", DEADLINE + timedelta(days=1)),
        ("orange_supervision", DEADLINE + timedelta(days=16)),
        ("red_summons", DEADLINE + timedelta(days=31)),
    ]
    assert [n.number for n in notices] == [
        "〔2026〕提醒第1号",
        "〔2026〕预警第1号",
        "〔2026〕督办第1号",
        "〔2026〕约谈第1号",
    ]
    # Each went through every channel exactly once, signatures verified by the receivers.
    assert receiver.rejected == []
    assert len(receiver.of("dingtalk")) == len(receiver.of("wecom")) == 4
    assert len(receiver.of("webhook")) == 4
    assert [m["payload"]["notice"]["number"] for m in receiver.of("webhook")] == [
        n.number for n in notices
    ]
    ding = receiver.of("dingtalk")[0]["payload"]
    assert ding["msgtype"] == "markdown" and "〔2026〕提醒第1号" in ding["markdown"]["title"]
    assert ding["at"]["atMobiles"] == ["13800000001"]
    assert receiver.of("wecom")[2]["payload"]["markdown"]["content"].startswith(
        "### 〔2026〕督办第1号 督办函"
    )
    # E-mails escalate: responsible person, then the township head, then the office too.
    assert [sorted(m["to"]) for m in mailbox.messages] == [
        ["wangwei@zjj.example"],
        ["li@xizhen.example", "wangwei@zjj.example"],
        ["li@xizhen.example", "office@county.example", "wangwei@zjj.example"],
        ["li@xizhen.example", "office@county.example", "wangwei@zjj.example"],
    ]
    first = mailbox.messages[0]["message"]
    assert first["Subject"] == "〔2026〕提醒第1号 提醒函：T-001"
    html = first.get_body(("html",)).get_content()
    assert "提醒函" in html and "T-001" in html and "西镇" in html
    # Every notice is in the problem's history.
    with Session(db) as s:
        history = ledger.history(s, "T-001")
    events = [e for e in history if e.action == "notice"]
    assert [e.after["notice"]["number"] for e in events] == [n.number for n in notices]
    assert [n.event_id for n in notices] == [e.id for e in events]
    assert events[2].reason.startswith("〔2026〕督办第1号 督办函：已超过整改期限")
    with Session(db) as s:
        statuses = set(s.scalars(select(NoticeDelivery.status)))
    assert statuses == {"sent"}


def test_a_restart_does_not_resend(county) -> None:  # type: ignore[no-untyped-def]
    db, receiver, mailbox = county
    day = DEADLINE + timedelta(days=2)  # yellow
    first = run_once(db, today=day, now=at_nine(day), settings=FAST)
    assert [i["rule"] for i in first.issued] == ["yellow_warning"]
    # A new process: a fresh scheduler on the same database, same day.
    scheduler = NoticeScheduler(db, 3600, clock=lambda: day, settings=FAST)
    again = scheduler.tick()
    assert again.skipped is None and again.issued == [] and again.deliveries["sent"] == 0
    assert scheduler.tick().skipped.startswith("the last scheduler run")  # one job per interval
    assert len(_notices(db)) == 1
    assert len(mailbox.messages) == 1 and len(receiver.of("webhook")) == 1
    assert _count(db, NoticeDelivery) == 4


def test_a_dead_receiver_is_retried_with_backoff_then_failed(
    db: Engine, receiver: Receiver, smtp: tuple[Mailbox, int]
) -> None:
    dead = f"http://127.0.0.1:{free_port()}/hook"  # nothing listens there
    _seed(db, receiver, smtp[1], webhook_url=dead)
    with Session(db) as s, s.begin():
        new_problem(s, "T-001", deadline=DEADLINE)
    day = DEADLINE + timedelta(days=20)  # orange
    t0 = at_nine(day)
    report = run_once(db, today=day, now=t0, settings=FAST)
    assert report.deliveries == {"sent": 3, "failed": 0, "retrying": 1, "skipped": 0}
    # The ledger and the other channels did not wait for the dead one.
    assert len(smtp[0].messages) == 1 and len(receiver.of("dingtalk")) == 1
    assert len(receiver.of("wecom")) == 1
    with Session(db) as s:
        assert [e.action for e in ledger.history(s, "T-001")][-1] == "notice"

    def hook() -> NoticeDelivery:
        with Session(db) as s:
            return s.scalars(
                select(NoticeDelivery).where(NoticeDelivery.channel_name == "hook")
            ).one()

    assert hook().status == "pending" and hook().attempts == 1
    assert hook().next_attempt_at == t0 + timedelta(seconds=60)
    assert deliver_due(db, now=t0 + timedelta(seconds=59), settings=FAST).attempted == []
    assert deliver_due(db, now=t0 + timedelta(seconds=60), settings=FAST).retrying == 1
    assert hook().attempts == 2 and hook().next_attempt_at == t0 + timedelta(seconds=180)
    assert deliver_due(db, now=t0 + timedelta(seconds=179), settings=FAST).attempted == []
    assert deliver_due(db, now=t0 + timedelta(seconds=180), settings=FAST).failed == 1
    final = hook()
    assert final.status == "failed" and final.attempts == 3 and final.next_attempt_at is None
    assert "cannot reach" in final.result
    assert [a["ok"] for a in final.attempt_log] == [False, False, False]
    assert deliver_due(db, now=t0 + timedelta(days=1), settings=FAST).attempted == []
    with Session(db) as s:
        others = s.scalars(
            select(NoticeDelivery.attempts).where(NoticeDelivery.channel_name != "hook")
        ).all()
    assert others == [1, 1, 1]


def test_a_wrong_dingtalk_secret_is_refused_and_logged(county) -> None:  # type: ignore[no-untyped-def]
    db, receiver, _ = county
    from gis.notices.directory import find_channel, update_channel

    with Session(db) as s, s.begin():
        update_channel(s, find_channel(s, "ding").id, {"config": {"secret": "SECwrong"}})
    day = DEADLINE + timedelta(days=2)
    run_once(db, today=day, now=at_nine(day), settings=FAST)
    assert receiver.of("dingtalk") == [] and len(receiver.rejected) == 1
    with Session(db) as s:
        ding = s.scalars(select(NoticeDelivery).where(NoticeDelivery.channel_name == "ding")).one()
    assert ding.status == "pending" and "errcode 310000" in ding.result


def test_a_dry_run_writes_and_sends_nothing(county) -> None:  # type: ignore[no-untyped-def]
    db, receiver, mailbox = county
    models = (Notice, NoticeDelivery, NoticeCounter, NoticeRun, Event)
    before = {m.__name__: _count(db, m) for m in models}
    day = DEADLINE + timedelta(days=17)
    report = run_once(db, today=day, now=at_nine(day), dry_run=True, settings=FAST)
    assert report.dry_run and report.issued == []
    assert [(p["rule"], p["number_preview"]) for p in report.planned] == [
        ("orange_supervision", "〔2026〕督办第1号")
    ]
    assert report.planned[0]["recipients"] == [
        "responsible_person:王伟",
        "township_head:李镇长",
        "office:督察办",
    ]
    assert report.planned[0]["channels"] == ["mail", "ding", "wecom", "hook"]
    assert {m.__name__: _count(db, m) for m in models} == before
    assert mailbox.messages == [] and receiver.received == []
    # The real run afterwards issues exactly what the dry run announced.
    real = run_once(db, today=day, now=at_nine(day), settings=FAST)
    assert [i["number"] for i in real.issued] == ["〔2026〕督办第1号"]


# -- numbering ----------------------------------------------------------------------------------


def test_numbering_is_gap_free_under_concurrency(db: Engine) -> None:
    committed: list[int] = []
    lock = threading.Lock()
    start = threading.Barrier(12)

    def take(i: int) -> None:
        start.wait()
        with Session(db) as s:
            seq, number = next_number(s, "supervision", 2026)
            assert number == f"〔2026〕督办第{seq}号"
            time_mod.sleep(0.02)
            if i % 3 == 0:
                s.rollback()  # an issuing transaction that fails gives its number back
            else:
                s.commit()
                with lock:
                    committed.append(seq)

    threads = [threading.Thread(target=take, args=(i,)) for i in range(12)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(committed) == list(range(1, 9))
    with Session(db) as s:
        seq, number = next_number(s, "supervision", 2026)
        assert (seq, number) == (9, "〔2026〕督办第9号")
        assert next_number(s, "supervision", 2027) == (1, "〔2027〕督办第1号")
        assert next_number(s, "summons", 2026) == (1, "〔2026〕约谈第1号")


def test_numbers_run_per_kind_over_many_notices(db: Engine, receiver, smtp) -> None:  # type: ignore[no-untyped-def]
    _seed(db, receiver, smtp[1])
    with Session(db) as s, s.begin():
        for i in range(5):
            new_problem(s, f"T-{i:03d}", deadline=DEADLINE, lon=113.01 + i * 0.01)
    day = DEADLINE + timedelta(days=20)
    report = run_once(db, today=day, now=at_nine(day), settings=FAST)
    assert sorted(i["number"] for i in report.issued) == [
        f"〔2026〕督办第{n}号" for n in range(1, 6)
    ]


def test_the_advisory_lock_lets_one_process_evaluate(county) -> None:  # type: ignore[no-untyped-def]
    db, receiver, _ = county
    day = DEADLINE + timedelta(days=2)
    with db.connect() as other:
        other.execute(text("SELECT pg_advisory_lock(:k)"), {"k": LOCK_KEY})
        try:
            report = run_once(db, today=day, now=at_nine(day), settings=FAST)
        finally:
            other.execute(text("SELECT pg_advisory_unlock(:k)"), {"k": LOCK_KEY})
            other.commit()
    assert report.skipped == "another process is evaluating the notice rules"
    assert _notices(db) == []
    results: list[Any] = []
    threads = [
        threading.Thread(
            target=lambda: results.append(run_once(db, today=day, now=at_nine(day), settings=FAST))
        )
        for _ in range(4)
    ]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sum(len(r.issued) for r in results) == 1
    assert len(_notices(db)) == 1
    assert len(receiver.of("webhook")) == len(receiver.of("dingtalk")) == 1


# -- other triggers and repeats -----------------------------------------------------------------


def test_rebound_suspected_rebound_off_site_and_complaint_notices(county) -> None:  # type: ignore[no-untyped-def]
    db, receiver, mailbox = county
    from gis.ledger.complaints import ComplaintInput, create_complaint

    t_close = datetime(2026, 3, 2, 2, 0, tzinfo=UTC)
    with Session(db) as s, s.begin():
        new_problem(s, "C-1", lon=113.15, deadline=date(2026, 12, 31))  # 东镇
        close(s, "C-1", at=t_close)
        new_problem(s, "R-1", lon=113.16, deadline=date(2026, 12, 31))
        close(s, "R-1", at=t_close)
        ledger.transition(
            s,
            "R-1",
            "rebound",
            actor="office",
            reason="回头看发现",
            now=t_close + timedelta(days=9),
        )
        complaint, suspects = create_complaint(
            s,
            ComplaintInput(
                code="XF-001",
                channel="hotline_12345",
                kind="air",
                category="dust",
                received_at=t_close + timedelta(days=10),
                geometry={"type": "Point", "coordinates": [113.1501, 34.05]},
            ),
        )
        assert suspects
        inspection = add_inspection(s, "T-001", lon=113.09, at=t_close + timedelta(days=10))
        s.execute(
            text("UPDATE inspections SET flags = '[\"off_site\"]' WHERE id = :i"), {"i": inspection}
        )
        feedback_due = complaint.feedback_due
    day = (t_close + timedelta(days=10)).astimezone(SHANGHAI).date()
    report = run_once(db, today=day, now=at_nine(day), settings=FAST)
    issued = {(i["rule"], i["problem_code"], i["complaint_code"]) for i in report.issued}
    assert issued == {
        ("rebound_supervision", "R-1", None),
        ("suspected_rebound_reminder", "C-1", "XF-001"),
        ("off_site_warning", "T-001", None),
    }
    assert run_once(db, today=day, now=at_nine(day), settings=FAST).issued == []
    due_day = feedback_due - timedelta(days=1)
    later = run_once(db, today=due_day, now=at_nine(due_day), settings=FAST)
    assert [(i["rule"], i["complaint_code"]) for i in later.issued] == [
        ("complaint_due_reminder", "XF-001")
    ]
    with Session(db) as s:
        notice = s.scalars(select(Notice).where(Notice.rule_name == "complaint_due_reminder")).one()
        assert notice.township_code == EAST and notice.event_id is None  # no problem: no history
        assert [r["name"] for r in notice.recipients] == ["赵镇长", "督察办"]
        off_site = s.scalars(select(Notice).where(Notice.rule_name == "off_site_warning")).one()
        assert "异地打卡" in off_site.html and off_site.kind == "warning"
        rebound = s.scalars(select(Notice).where(Notice.rule_name == "rebound_supervision")).one()
        assert "反弹" in rebound.context["situation"]
    assert receiver.rejected == []


def test_min_interval_repeats_a_rule_at_most_every_n_days(county) -> None:  # type: ignore[no-untyped-def]
    db, _, _ = county
    with Session(db) as s, s.begin():
        s.execute(text("UPDATE notice_rules SET enabled = false"))
        create_rule(
            s,
            {
                "name": "overdue_every_3_days",
                "trigger": "days_after",
                "days": 1,
                "kind": "warning",
                "recipients": ["responsible_person"],
                "channels": ["hook"],
                "min_interval_days": 3,
            },
        )
    days = [DEADLINE + timedelta(days=n) for n in range(0, 9)]
    for day in days:
        run_once(db, today=day, now=at_nine(day), settings=FAST)
    assert [n.issued_on for n in _notices(db)] == [
        DEADLINE + timedelta(days=1),
        DEADLINE + timedelta(days=4),
        DEADLINE + timedelta(days=7),
    ]
    with Session(db) as s:
        assert set(s.scalars(select(NoticeDelivery.channel_name))) == {"hook"}


def test_an_extended_deadline_starts_a_new_episode(county) -> None:  # type: ignore[no-untyped-def]
    db, _, _ = county
    day = DEADLINE + timedelta(days=2)
    run_once(db, today=day, now=at_nine(day), settings=FAST)
    new_deadline = DEADLINE + timedelta(days=20)
    with Session(db) as s, s.begin():
        ledger.update_problem(
            s, "T-001", {"deadline": new_deadline}, actor="office", reason="延期", now=at_nine(day)
        )
    for n in range(3, 23):
        later = DEADLINE + timedelta(days=n)
        run_once(db, today=later, now=at_nine(later), settings=FAST)
    assert [(n.rule_name, n.issued_on) for n in _notices(db)] == [
        ("yellow_warning", day),
        ("blue_reminder", new_deadline - timedelta(days=7)),
        ("yellow_warning", new_deadline + timedelta(days=1)),
    ]
    assert [n.number for n in _notices(db)][-1] == "〔2026〕预警第2号"


# -- scheduler ----------------------------------------------------------------------------------


def test_the_scheduler_thread_runs_once_per_interval(county) -> None:  # type: ignore[no-untyped-def]
    db, receiver, _ = county
    assert start_scheduler(db, 0) is None
    day = DEADLINE + timedelta(days=2)
    schedulers = [
        start_scheduler(db, 0.3, clock=lambda: day, settings=FAST),
        start_scheduler(db, 0.3, clock=lambda: day, settings=FAST),
    ]
    try:
        deadline = time_mod.monotonic() + 15
        while not receiver.of("webhook") and time_mod.monotonic() < deadline:
            time_mod.sleep(0.05)
        time_mod.sleep(1.0)  # several more wake-ups of both threads
    finally:
        for scheduler in schedulers:
            assert scheduler is not None and scheduler.running
            scheduler.stop()
    assert not any(s.running for s in schedulers if s)
    assert len(_notices(db)) == 1 and len(receiver.of("webhook")) == 1
    with Session(db) as s:
        starts = sorted(s.scalars(select(NoticeRun.started_at)))
    assert len(starts) >= 2
    assert all(b - a >= timedelta(seconds=0.3) for a, b in zip(starts, starts[1:], strict=False))


# -- API ----------------------------------------------------------------------------------------


@pytest.fixture
def api(county):  # type: ignore[no-untyped-def]
    """The app on the county, with notices issued for a problem in each township."""
    from server.app import create_app
    from tests.factories import make_token

    db, receiver, mailbox = county
    with Session(db) as s, s.begin():
        new_problem(s, "E-1", lon=113.15, deadline=DEADLINE)
    day = DEADLINE + timedelta(days=20)
    run_once(db, today=day, now=at_nine(day), settings=FAST)
    app = create_app(engine=db, settings=Settings(), clock=lambda: day)
    headers = {
        "office": make_token(db, "office"),
        "west": make_token(db, "township", [WEST]),
        "viewer": make_token(db, "viewer"),
    }
    return TestClient(app), headers, db, receiver


def _notice_routes(app) -> list:  # type: ignore[no-untyped-def]
    """The API routes under /api/notices, however the routers were included."""
    from fastapi import routing
    from fastapi.routing import APIRoute

    if hasattr(routing, "iter_route_contexts"):  # FastAPI >= 0.16x includes routers lazily
        routes = [
            c
            for c in routing.iter_route_contexts(app.routes)
            if isinstance(c.original_route, APIRoute)
        ]
    else:
        routes = [r for r in app.routes if isinstance(r, APIRoute)]
    return [r for r in routes if r.path.startswith("/api/notices")]


def _permissions(route) -> set[str]:  # type: ignore[no-untyped-def]
    from server.security import Requires

    found, stack = set(), [route.dependant]
    while stack:
        for dep in stack.pop().dependencies:
            if isinstance(dep.call, Requires):
                found.add(dep.call.permission)
            stack.append(dep)
    return found


def test_api_routes_declare_one_permission_each(api) -> None:  # type: ignore[no-untyped-def]
    client, _, _, _ = api
    seen = {}
    for route in _notice_routes(client.app):
        for method in route.methods:
            seen[(method, route.path)] = _permissions(route)
    assert len(seen) >= 15
    assert all(len(p) == 1 for p in seen.values()), seen
    for (method, path), (perm,) in seen.items():
        if method == "GET" and not path.startswith(("/api/notices/contacts", "/api/notices/chan")):
            assert perm == "read", (method, path)
        else:
            assert perm == "notice:manage", (method, path)


def test_role_by_route_matrix_for_notice_routes(api) -> None:  # type: ignore[no-untyped-def]
    import re

    from gis.access.permissions import POLICY
    from tests.factories import make_token

    client, _, db, _ = api
    headers = {role: make_token(db, role) for role in ("admin", "office", "viewer")}
    headers |= {role: make_token(db, role, [WEST]) for role in ("township", "inspector")}
    checked = 0
    for route in _notice_routes(client.app):
        (permission,) = _permissions(route)
        url = re.sub(r"\{[^}]+\}", "x", route.path)
        for method in sorted(route.methods - {"HEAD"}):
            assert client.request(method, url, json={}).status_code == 401, (method, url)
            for role, header in headers.items():
                resp = client.request(method, url, json={}, headers=header)
                denied = resp.status_code == 403 and "role" in resp.json().get("detail", "")
                assert denied == (role not in POLICY[permission]), (method, url, role, resp.text)
                assert resp.status_code < 500, (method, url, role, resp.text)
                checked += 1
    assert checked >= 80


def test_township_users_see_only_their_townships_notices(api) -> None:  # type: ignore[no-untyped-def]
    client, h, _, _ = api
    office = client.get("/api/notices", headers=h["office"]).json()
    assert {i["problem_code"] for i in office["items"]} == {"T-001", "E-1"}
    west = client.get("/api/notices", headers=h["west"]).json()
    assert [i["problem_code"] for i in west["items"]] == ["T-001"] and west["number_matched"] == 1
    by_code = {i["problem_code"]: i["id"] for i in office["items"]}
    assert client.get(f"/api/notices/{by_code['E-1']}", headers=h["west"]).status_code == 403
    assert (
        client.get(f"/api/notices/{by_code['E-1']}/document", headers=h["west"]).status_code == 403
    )
    mine = client.get(f"/api/notices/{by_code['T-001']}", headers=h["west"]).json()
    assert {d["channel"] for d in mine["deliveries"]} == {"mail", "ding", "wecom", "hook"}
    assert all(d["status"] == "sent" and d["attempts"] == 1 for d in mine["deliveries"])
    doc = client.get(f"/api/notices/{by_code['T-001']}/document", headers=h["west"])
    assert doc.status_code == 200 and doc.headers["content-type"].startswith("text/html")
    assert mine["number"] in doc.text and "督办函" in doc.text
    deliveries = client.get("/api/notices/deliveries", headers=h["west"]).json()
    assert deliveries["number_matched"] == 4
    assert {d["notice_number"] for d in deliveries["items"]} == {mine["number"]}
    assert client.get("/api/notices/deliveries", headers=h["office"]).json()["number_matched"] == 8
    # Readers who do not manage notices see who was reached, not their phones and addresses.
    shown = json.dumps([mine, deliveries, west], ensure_ascii=False)
    office_view = client.get("/api/notices/deliveries", headers=h["office"]).json()
    phones = {r["phone"] for d in office_view["items"] for r in d["recipients"] if r.get("phone")}
    emails = {r["email"] for d in office_view["items"] for r in d["recipients"] if r.get("email")}
    assert phones and emails
    assert not any(p in shown for p in phones) and not any(e in shown for e in emails)
    assert all(d["payload"] is None for d in deliveries["items"] + mine["deliveries"])
    assert all(d["payload"] for d in office_view["items"])


def test_office_manages_contacts_channels_rules_and_runs(api) -> None:  # type: ignore[no-untyped-def]
    client, h, _, receiver = api
    contact = {"name": "孙主任", "role": "office", "email": "sun@county.example"}
    assert client.post("/api/notices/contacts", json=contact, headers=h["west"]).status_code == 403
    assert client.get("/api/notices/contacts", headers=h["viewer"]).status_code == 403
    created = client.post("/api/notices/contacts", json=contact, headers=h["office"])
    assert created.status_code == 201, created.text
    bad = client.post(
        "/api/notices/contacts", json={**contact, "email": "not-an-address"}, headers=h["office"]
    )
    assert bad.status_code == 422
    channels = client.get("/api/notices/channels", headers=h["office"]).json()
    ding = next(c for c in channels if c["name"] == "ding")
    assert ding["config"]["secret"] == "***" and DING_TOKEN not in ding["config"]["url"]
    probe = client.post(f"/api/notices/channels/{ding['id']}/test", json={}, headers=h["office"])
    assert probe.json() == {"channel": "ding", "ok": True, "result": "HTTP 200 errcode 0"}
    assert receiver.of("dingtalk")[-1]["payload"]["markdown"]["title"] == "测试 渠道测试"
    rules = client.get("/api/notices/rules", headers=h["west"]).json()
    red = next(r for r in rules if r["name"] == "red_summons")
    changed = client.patch(
        f"/api/notices/rules/{red['id']}", json={"min_interval_days": 14}, headers=h["office"]
    )
    assert changed.json()["min_interval_days"] == 14
    assert (
        client.patch(
            f"/api/notices/rules/{red['id']}", json={"colour": None}, headers=h["office"]
        ).status_code
        == 422
    )
    assert client.post("/api/notices/run", json={}, headers=h["office"]).status_code == 422
    assert (
        client.post("/api/notices/run", json={"dry_run": True}, headers=h["west"]).status_code
        == 403
    )
    dry = client.post("/api/notices/run", json={"dry_run": True}, headers=h["office"]).json()
    assert dry["dry_run"] and dry["planned"] == []  # everything due was sent already


def test_the_pdf_document_when_weasyprint_is_there(api) -> None:  # type: ignore[no-untyped-def]
    from gis.notices.render import pdf_available

    client, h, _, _ = api
    if not pdf_available():
        pytest.skip("WeasyPrint is not installed")
    notice_id = client.get("/api/notices", headers=h["office"]).json()["items"][0]["id"]
    pdf = client.get(f"/api/notices/{notice_id}/document.pdf", headers=h["office"])
    assert pdf.status_code == 200 and pdf.content.startswith(b"%PDF")


def test_a_failed_delivery_can_be_retried_from_the_api(
    db: Engine, receiver: Receiver, smtp: tuple[Mailbox, int]
) -> None:
    from server.app import create_app
    from tests.factories import make_token

    _seed(db, receiver, smtp[1], webhook_url=f"http://127.0.0.1:{free_port()}/hook")
    with Session(db) as s, s.begin():
        new_problem(s, "T-001", deadline=DEADLINE)
    day = DEADLINE + timedelta(days=2)
    one_try = NoticeSettings(max_attempts=1, timeout_s=3, allow_hosts=LOCAL)
    run_once(db, today=day, now=at_nine(day), settings=one_try)
    with Session(db) as s, s.begin():
        hook = s.scalars(select(NoticeDelivery).where(NoticeDelivery.channel_name == "hook")).one()
        assert hook.status == "failed"
        from gis.notices.directory import update_channel

        update_channel(s, hook.channel_id, {"config": {"url": f"{receiver.base}/hook"}})
        hook_id = hook.id
    client = TestClient(create_app(engine=db, settings=Settings(), clock=lambda: day))
    office = make_token(db, "office")
    retried = client.post(f"/api/notices/deliveries/{hook_id}/retry", headers=office)
    assert retried.status_code == 200, retried.text
    # The payload was frozen at issue time, so the new URL gets the same notice.
    assert retried.json()["status"] == "sent" and retried.json()["attempts"] == 2
    assert len(receiver.of("webhook")) == 1


# -- CLI ----------------------------------------------------------------------------------------


def test_the_cli_manages_contacts_channels_and_runs(
    db: Engine, receiver: Receiver, monkeypatch: pytest.MonkeyPatch
) -> None:
    from server.cli import notices as cli_notices

    monkeypatch.setattr(cli_notices, "_engine", lambda: db)
    with Session(db) as s, s.begin():
        load_two_townships(s)
        ensure_default_rules(s)
        new_problem(s, "T-001", deadline=DEADLINE)
    cli = CliRunner(env={"COLUMNS": "200"})

    def ok(*args: str, stdin: str | None = None) -> str:
        result = cli.invoke(cli_notices.notices_app, list(args), input=stdin)
        assert result.exit_code == 0, result.output
        return result.output

    ok("contacts", "add", "王伟", "--role", "responsible_person", "--unit", "县住建局",
       "--phone", "13800000001")  # fmt: skip
    assert "王伟" in ok("contacts", "list")
    bad = cli.invoke(cli_notices.notices_app, ["contacts", "add", "x", "--role", "township_head"])
    assert bad.exit_code == 1 and "township_code" in bad.output
    ok("channels", "add", "hook", "--kind", "webhook", "--url", f"{receiver.base}/hook",
       "--secret", "-", stdin=HOOK_SECRET + "\n")  # fmt: skip
    listed = ok("channels", "list")
    assert "hook" in listed and HOOK_SECRET not in listed
    ok("channels", "test", "hook")
    assert len(receiver.of("webhook")) == 1
    dead = f"http://127.0.0.1:{free_port()}/x"
    ok("channels", "add", "dead", "--kind", "wecom", "--url", dead)
    failed = cli.invoke(cli_notices.notices_app, ["channels", "test", "dead"])
    assert failed.exit_code == 1 and "cannot reach" in failed.output
    ok("rules", "enable", "red_summons", "--off")
    assert "red_summons" in ok("rules", "list")
    day = (DEADLINE + timedelta(days=3)).isoformat()
    dry = json.loads(ok("run", "--dry-run", "--today", day, "--json"))
    assert [p["number_preview"] for p in dry["planned"]] == ["〔2026〕预警第1号"]
    assert _notices(db) == []
    ok("channels", "add", "off", "--kind", "wecom", "--url", f"{receiver.base}/wecom/send")
    from gis.notices.directory import find_channel, update_channel

    with Session(db) as s, s.begin():
        update_channel(s, find_channel(s, "dead").id, {"enabled": False})
        update_channel(s, find_channel(s, "off").id, {"enabled": False})
    real = json.loads(ok("run", "--today", day, "--json"))
    assert [i["number"] for i in real["issued"]] == ["〔2026〕预警第1号"]
    assert real["deliveries"]["sent"] == 1
    logged = ok("log", "--status", "sent")
    assert "hook" in logged and "1 of 1" in logged
    with Session(db) as s:
        sent = s.scalars(select(NoticeDelivery.id).where(NoticeDelivery.status == "sent")).one()
    again = cli.invoke(cli_notices.notices_app, ["retry", str(sent)])
    assert again.exit_code == 1 and "already sent" in again.output
    missing = cli.invoke(cli_notices.notices_app, ["retry", "999999"])
    assert missing.exit_code == 1 and "no delivery 999999" in missing.output


def test_a_run_closes_the_problems_whose_public_notice_ended(db: Engine, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    from gis.config import get_settings

    monkeypatch.setenv("LOOKBACK_PUBLIC_NOTICE_DAYS", "7")
    get_settings.cache_clear()
    try:
        with Session(db) as s, s.begin():
            load_two_townships(s)
            new_problem(s, "T-001")
            new_problem(s, "T-002")
            close(s, "T-001")  # approved: in public notice until 2026-03-09
            close(s, "T-002")
        early = run_once(db, today=date(2026, 3, 8), now=at_nine(date(2026, 3, 8)), deliver=False)
        assert early.closed_after_notice == 0
        ended = run_once(db, today=date(2026, 3, 9), now=at_nine(date(2026, 3, 9)), deliver=False)
        assert ended.closed_after_notice == 2 and ended.as_dict()["closed_after_notice"] == 2
        with Session(db) as s:
            assert {ledger.get_problem(s, c).status for c in ("T-001", "T-002")} == {"closed"}
            actors = s.scalars(select(Event.actor).where(Event.action == "end_public_notice"))
            assert set(actors) == {"公示期满 scheduler"}
    finally:
        get_settings.cache_clear()
