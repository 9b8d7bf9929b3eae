"""Operations: request ids, JSON access lines, /metrics, and configuration errors at start."""

from __future__ import annotations

import json
import logging
import os
import subprocess
import sys
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from prometheus_client.parser import text_string_to_metric_families
from sqlalchemy import Engine, text

from gis.config import Settings
from server.app import create_app
from server.ops import (
    JsonFormatter,
    OpsMiddleware,
    OpsSettings,
    install_ops,
    settings_problems,
)
from server.security import Requires

try:
    from tests.conftest import DEMO_AS_OF
    from tests.factories import make_token
except ImportError:  # a site-packages package named "tests" (pygeoapi ships one) shadows ours
    from conftest import DEMO_AS_OF  # type: ignore
    from factories import make_token  # type: ignore

ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture(scope="module")
def ops_app(demo_engine: Engine):  # type: ignore[no-untyped-def]
    app = create_app(engine=demo_engine, settings=Settings(), clock=lambda: DEMO_AS_OF)
    install_ops(app, OpsSettings())
    install_ops(app, OpsSettings())  # a second call (or one in create_app) changes nothing
    return app


@pytest.fixture(scope="module")
def viewer(demo_engine: Engine) -> dict[str, str]:
    return make_token(demo_engine, "viewer", name="ops-viewer")


@pytest.fixture
def client(ops_app, viewer) -> TestClient:  # type: ignore[no-untyped-def]
    ops_app.state.ops_settings = OpsSettings()
    return TestClient(ops_app, headers=viewer)


def samples(body: str) -> list[tuple[str, dict[str, str], float]]:
    """Every sample of a Prometheus text exposition (parsing it proves the format)."""
    return [
        (s.name, s.labels, s.value)
        for family in text_string_to_metric_families(body)
        for s in family.samples
    ]


def value(found: list, name: str, **labels: str) -> float:
    return sum(v for n, lab, v in found if n == name and labels.items() <= lab.items())


def test_install_ops_once(ops_app) -> None:  # type: ignore[no-untyped-def]
    from fastapi import routing
    from fastapi.routing import APIRoute

    assert sum(m.cls is OpsMiddleware for m in ops_app.user_middleware) == 1
    if hasattr(routing, "iter_route_contexts"):
        contexts = list(routing.iter_route_contexts(ops_app.routes))
        routes = [c for c in contexts if isinstance(c.original_route, APIRoute)]
    else:
        routes = [r for r in ops_app.routes if isinstance(r, APIRoute)]
    found = [r for r in routes if r.path == "/metrics"]
    assert len(found) == 1
    perms, stack = set(), [found[0].dependant]
    while stack:
        for dep in stack.pop().dependencies:
            if isinstance(dep.call, Requires):
                perms.add(dep.call.permission)
            stack.append(dep)
    assert perms == {"public"}


def test_request_id_is_made_or_propagated(client: TestClient) -> None:
    made = client.get("/healthz").headers["x-request-id"]
    assert len(made) == 32 and int(made, 16) >= 0
    assert client.get("/healthz").headers["x-request-id"] != made
    given = client.get("/healthz", headers={"X-Request-ID": "nginx-7f3a.42"})
    assert given.headers["x-request-id"] == "nginx-7f3a.42"
    for bad in ("has space", "x" * 200, "semi;colon"):
        replaced = client.get("/healthz", headers={"X-Request-ID": bad}).headers["x-request-id"]
        assert replaced != bad and len(replaced) == 32
    assert client.get("/no/such/page").headers["x-request-id"]


def test_one_json_access_line_per_request(
    client: TestClient, caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.INFO, logger="lookback.access"):
        resp = client.get("/api/problems?limit=5", headers={"X-Request-ID": "req-1"})
    assert resp.status_code == 200
    records = [r for r in caplog.records if r.name == "lookback.access"]
    assert len(records) == 1
    line = JsonFormatter().format(records[0])
    assert "\n" not in line
    entry = json.loads(line)
    assert entry["msg"] == "request" and entry["level"] == "info"
    assert entry["method"] == "GET" and entry["path"] == "/api/problems"
    assert entry["route"] == "/api/problems" and entry["status"] == 200
    assert entry["request_id"] == "req-1"
    assert entry["duration_ms"] > 0 and entry["db_queries"] >= 1 and entry["db_ms"] > 0
    assert "limit" not in entry["path"], "query strings are not logged"


def test_log_lines_inside_a_request_carry_its_id() -> None:
    from server.ops import _request_id

    record = logging.LogRecord(
        "lookback.server", logging.WARNING, __file__, 1, "db %s", ("down",), None
    )
    token = _request_id.set("abc")
    try:
        entry = json.loads(JsonFormatter().format(record))
    finally:
        _request_id.reset(token)
    assert entry == {**entry, "msg": "db down", "request_id": "abc", "level": "warning"}


def test_metrics_in_prometheus_format(client: TestClient, demo_engine: Engine) -> None:
    with demo_engine.connect() as conn:
        code = conn.execute(text("SELECT min(code) FROM problems")).scalar_one()
    before = samples(client.get("/metrics").text)
    assert client.get(f"/api/problems/{code}").status_code == 200
    assert client.get("/api/problems/NO-SUCH-CODE").status_code == 404
    assert client.get("/no/such/page/p-8d3f1c7a").status_code == 404
    assert client.get("/static/definitely-missing.js").status_code == 404
    resp = client.get("/metrics")
    assert resp.status_code == 200
    assert resp.headers["content-type"].startswith("text/plain")
    after = samples(resp.text)

    def delta(name: str, **labels: str) -> float:
        return value(after, name, **labels) - value(before, name, **labels)

    route = "/api/problems/{code}"
    assert delta("lookback_http_requests_total", route=route, status="200", method="GET") == 1
    assert delta("lookback_http_requests_total", route=route, status="404") == 1
    assert delta("lookback_http_request_duration_seconds_count", route=route) == 2
    assert delta("lookback_http_request_duration_seconds_bucket", route=route, le="+Inf") == 2
    assert delta("lookback_http_requests_total", route="<unmatched>", status="404") >= 1
    assert delta("lookback_http_requests_total", route="/static/{path}") == 1
    # (a marker no sample value can spell: a count may well be 12345)
    assert "p-8d3f1c7a" not in resp.text and "NO-SUCH-CODE" not in resp.text, "raw paths as labels"
    assert delta("lookback_db_query_duration_seconds_count", operation="select") >= 2
    assert value(after, "lookback_db_pool_size") >= 1
    states = {lab["state"] for n, lab, _ in after if n == "lookback_db_pool_connections"}
    assert states == {"checked_out", "idle", "overflow"}
    assert value(after, "lookback_db_pool_connections", state="idle") >= 1


def test_metrics_token(client: TestClient, ops_app) -> None:  # type: ignore[no-untyped-def]
    ops_app.state.ops_settings = OpsSettings(metrics_token="scrape-secret")
    try:
        anonymous = client.get("/metrics", headers={"Authorization": ""})
        assert anonymous.status_code == 401 and "LOOKBACK_METRICS_TOKEN" in anonymous.text
        # a user's API token is not the metrics token
        assert client.get("/metrics").status_code == 401
        wrong = client.get("/metrics", headers={"Authorization": "Bearer nope"})
        assert wrong.status_code == 401
        right = client.get("/metrics", headers={"Authorization": "Bearer scrape-secret"})
        assert right.status_code == 200 and "lookback_http_requests_total" in right.text
    finally:
        ops_app.state.ops_settings = OpsSettings()
    # No token set: a signed-in reader, or anyone when configured open.
    anonymous = client.get("/metrics", headers={"Authorization": ""})
    assert anonymous.status_code == 401 and "signed-in reader" in anonymous.text
    assert client.get("/metrics").status_code == 200
    ops_app.state.ops_settings = OpsSettings(metrics_open=True)
    try:
        assert client.get("/metrics", headers={"Authorization": ""}).status_code == 200
    finally:
        ops_app.state.ops_settings = OpsSettings()


def test_settings_problems_name_the_variable(monkeypatch: pytest.MonkeyPatch) -> None:
    assert settings_problems() == []
    monkeypatch.setenv("LOOKBACK_TIMEZONE", "Mars/Olympus")
    monkeypatch.setenv("LOOKBACK_PG_PORT", "80")
    monkeypatch.setenv("LOOKBACK_LOG_FORMAT", "xml")
    found = "\n".join(settings_problems())
    assert "LOOKBACK_TIMEZONE='Mars/Olympus'" in found
    assert "LOOKBACK_PG_PORT='80'" in found and "LOOKBACK_LOG_FORMAT='xml'" in found


def test_every_settings_class_is_checked_at_start(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("LOOKBACK_NOTICES_MAX_ATTEMPTS", "0")
    monkeypatch.setenv("LOOKBACK_FIELD_POOR_ACCURACY_M", "-3")
    found = "\n".join(settings_problems())
    assert "LOOKBACK_NOTICES_MAX_ATTEMPTS='0'" in found
    assert "LOOKBACK_FIELD_POOR_ACCURACY_M='-3'" in found
    monkeypatch.setenv("LOOKBACK_EVIDENCE_MAX_MB", "0")
    assert "LOOKBACK_EVIDENCE_MAX_MB='0'" in "\n".join(settings_problems())


def test_the_start_up_check_knows_every_settings_class() -> None:
    """A settings class added anywhere in the product is validated before anything is served."""
    import importlib
    import pkgutil

    from pydantic_settings import BaseSettings

    import gis
    import layers
    import server
    from server.ops import settings_models

    for package in (gis, server, layers):
        for info in pkgutil.walk_packages(package.__path__, f"{package.__name__}."):
            if ".migrations." not in info.name:
                importlib.import_module(info.name)

    def subclasses(cls: type) -> set[type]:
        found = set(cls.__subclasses__())
        return found.union(*(subclasses(c) for c in found)) if found else found

    roots = {"gis", "server", "layers"}
    ours = {c for c in subclasses(BaseSettings) if c.__module__.split(".")[0] in roots}
    assert len(ours) >= 6
    assert ours == set(settings_models())


def _run(code: str, **env: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-c", code],
        capture_output=True,
        text=True,
        cwd=ROOT,
        env={**os.environ, **env},
        timeout=60,
    )


def test_validate_settings_or_exit_prints_the_variable(tmp_path: Path) -> None:
    proc = _run(
        "from server.ops import validate_settings_or_exit; validate_settings_or_exit()",
        LOOKBACK_TIMEZONE="Mars/Olympus",
        LOOKBACK_HOME=str(tmp_path),
    )
    assert proc.returncode == 2
    assert "LOOKBACK_TIMEZONE" in proc.stderr and "Mars/Olympus" in proc.stderr
    assert "Traceback" not in proc.stderr


def test_lookback_up_with_a_bad_variable_names_it(tmp_path: Path) -> None:
    proc = _run(
        "from server.cli.main import app; app(['up', '--no-demo'], prog_name='lookback')",
        LOOKBACK_TIMEZONE="Mars/Olympus",
        LOOKBACK_HOME=str(tmp_path),
        DATABASE_URL="postgresql://nobody@127.0.0.1:1/none",
    )
    assert proc.returncode != 0
    assert "LOOKBACK_TIMEZONE" in proc.stderr
    assert "Traceback" not in proc.stderr and "╭" not in proc.stderr


def test_lookback_up_stops_its_database_when_a_service_manager_stops_it() -> None:
    """SIGTERM (systemd's stop): the app shuts down and the embedded database it started too."""
    import shutil
    import signal
    import time

    import httpx

    from gis.db.embedded import Cluster, free_port
    from tests.conftest import new_cluster_root

    home = new_cluster_root("lookback-up-")
    pg_port, http_port = free_port(), free_port()
    env = {**os.environ, "LOOKBACK_HOME": str(home), "LOOKBACK_PG_PORT": str(pg_port),
           "LOOKBACK_PORT": str(http_port)}  # fmt: skip
    env.pop("DATABASE_URL", None)
    proc = subprocess.Popen(
        [sys.executable, "-c",
         "from server.cli.main import app; app(['up', '--no-demo'], prog_name='lookback')"],
        cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
    )  # fmt: skip
    pid_file = home / "pg" / "data" / "postmaster.pid"
    try:
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline and proc.poll() is None:
            try:
                if httpx.get(f"http://127.0.0.1:{http_port}/healthz", timeout=2).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            time.sleep(0.5)
        assert proc.poll() is None, proc.stdout.read() if proc.stdout else ""
        assert pid_file.exists()
        proc.send_signal(signal.SIGTERM)
        out, _ = proc.communicate(timeout=60)
        assert "database stopped" in out, out[-2000:]
        assert not pid_file.exists()
    finally:
        if proc.poll() is None:
            proc.kill()
        if pid_file.exists():
            Cluster(home / "pg", pg_port).stop(mode="immediate")
        shutil.rmtree(home, ignore_errors=True)
