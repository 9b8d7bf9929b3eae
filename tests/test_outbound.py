"""Notice channels never reach internal addresses unless allowed, follow no redirect, echo no body.

A listener on this machine stands for an internal service: every spelling of its address that a
webhook, robot or SMTP channel can be given must be refused before a single connection reaches it.
"""

from __future__ import annotations

import socket
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from fastapi.testclient import TestClient

from gis.config import Settings
from gis.ledger.writes import LedgerError
from gis.notices import channels as ch
from gis.notices.config import get_notice_settings
from gis.notices.directory import check_channel_config
from gis.notices.outbound import literal_refusal, refused_reason
from tests.factories import make_token


class Listener:
    """A TCP listener on 127.0.0.1 that counts the connections it accepts."""

    def __init__(self) -> None:
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(16)
        self.sock.settimeout(0.2)
        self.port = self.sock.getsockname()[1]
        self.accepted = 0
        self._stop = False
        self.thread = threading.Thread(target=self._run, daemon=True)
        self.thread.start()

    def _run(self) -> None:
        while not self._stop:
            try:
                conn, _ = self.sock.accept()
            except OSError:
                continue
            self.accepted += 1
            conn.close()

    def close(self) -> None:
        self._stop = True
        self.thread.join(timeout=2)
        self.sock.close()


@pytest.fixture
def listener() -> Iterator[Listener]:
    server = Listener()
    yield server
    server.close()


class _Answer(BaseHTTPRequestHandler):
    def do_POST(self) -> None:  # noqa: N802
        self.rfile.read(int(self.headers.get("Content-Length", 0)))
        if self.path.startswith("/redirect"):
            self.send_response(302)
            self.send_header("Location", self.server.redirect_to)  # type: ignore[attr-defined]
            self.end_headers()
            return
        body = b'{"errcode": 1, "errmsg": "SECRET-BODY internal detail"}'
        self.send_response(500 if self.path.startswith("/fail") else 200)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture
def answering() -> Iterator[ThreadingHTTPServer]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Answer)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield server
    server.shutdown()
    server.server_close()


@pytest.mark.parametrize(
    "address",
    [
        "127.0.0.1",
        "127.8.9.10",
        "10.1.2.3",
        "172.16.0.1",
        "192.168.1.1",
        "169.254.169.254",
        "100.64.0.1",
        "0.0.0.0",
        "224.0.0.1",
        "240.0.0.1",
        "255.255.255.255",
        "::1",
        "::",
        "fe80::1",
        "fc00::1",
        "ff02::1",
        "::ffff:127.0.0.1",
        "::ffff:10.0.0.1",
        "2002:7f00:1::",
        "64:ff9b::a00:1",
        "2001:db8::1",
    ],
)
def test_internal_addresses_are_refused(address: str) -> None:
    assert refused_reason(address) is not None


@pytest.mark.parametrize("address", ["8.8.8.8", "114.114.114.114", "2001:4860:4860::8888"])
def test_public_addresses_pass(address: str) -> None:
    assert refused_reason(address) is None


def _spellings(port: int) -> list[str]:
    return [
        f"http://127.0.0.1:{port}/hook",
        f"http://localhost:{port}/hook",
        f"http://2130706433:{port}/hook",  # decimal
        f"http://0x7f.1:{port}/hook",  # hexadecimal, short form
        f"http://017700000001:{port}/hook",  # octal
        f"http://127.1:{port}/hook",
        f"http://0177.0.0.1:{port}/hook",
        f"http://[::ffff:127.0.0.1]:{port}/hook",
        f"http://[::1]:{port}/hook",
        f"https://127.0.0.1:{port}/hook",
    ]


def test_no_spelling_of_a_local_listener_is_reached(listener: Listener) -> None:
    for url in _spellings(listener.port):
        for kind, config in (
            ("webhook", {"url": url, "secret": "s"}),
            ("dingtalk", {"url": url, "secret": "SECx"}),
            ("wecom", {"url": url}),
        ):
            payload = ch.probe_payload(kind, config)
            with pytest.raises(ch.ChannelError, match="refused"):
                ch.send(kind, config, payload, timeout=2)
    for host in ("127.0.0.1", "localhost", "2130706433", "::1", "0x7f000001"):
        config = {"host": host, "port": listener.port, "from_addr": "a@b.example"}
        payload = ch.probe_payload("email", config, "x@y.example")
        with pytest.raises(ch.ChannelError, match="refused"):
            ch.send("email", config, payload, timeout=2)
    assert listener.accepted == 0


def test_literal_internal_addresses_are_refused_when_saved() -> None:
    for url in ("http://10.0.0.5/hook", "http://2130706433/x", "http://[::ffff:192.168.0.1]/x"):
        with pytest.raises(LedgerError, match="refused"):
            check_channel_config("webhook", {"url": url, "secret": "s"})
    with pytest.raises(LedgerError, match="refused"):
        check_channel_config("email", {"host": "169.254.169.254", "from_addr": "a@b.example"})
    assert literal_refusal("robot.example.cn", frozenset()) is None  # names: checked on send
    assert check_channel_config("wecom", {"url": "https://qyapi.weixin.qq.com/x?key=1"})


def test_an_allowed_host_is_reached_but_redirects_are_not_followed(
    listener: Listener, answering: ThreadingHTTPServer
) -> None:
    port = answering.server_address[1]
    answering.redirect_to = f"http://localhost:{listener.port}/stolen"  # type: ignore[attr-defined]
    config = {"url": f"http://127.0.0.1:{port}/redirect", "secret": "s"}
    payload = ch.probe_payload("webhook", config)
    with pytest.raises(ch.ChannelError) as refused:
        ch.send("webhook", config, payload, timeout=2)  # not allowed
    assert "refused" in str(refused.value)
    with pytest.raises(ch.ChannelError) as moved:
        ch.send("webhook", config, payload, timeout=2, allow_hosts="127.0.0.1")
    assert str(moved.value).startswith("HTTP 302")
    assert listener.accepted == 0
    ok = {"url": f"http://127.0.0.1:{port}/ok", "secret": "s"}
    assert ch.send("webhook", ok, payload, timeout=2, allow_hosts="127.0.0.1") == "HTTP 200 OK"


def test_answers_are_never_echoed_or_stored(
    db, answering: ThreadingHTTPServer, monkeypatch: pytest.MonkeyPatch
) -> None:  # type: ignore[no-untyped-def]
    port = answering.server_address[1]
    monkeypatch.setenv("LOOKBACK_NOTICES_ALLOW_HOSTS", "127.0.0.1, robots.internal")
    get_notice_settings.cache_clear()
    from server.app import create_app

    office = make_token(db, "office")
    try:
        client = TestClient(create_app(engine=db, settings=Settings()), headers=office)
        internal = client.post(
            "/api/notices/channels",
            json={
                "name": "intranet",
                "kind": "webhook",
                "config": {"url": "http://192.168.3.4/hook", "secret": "s"},
            },
        )
        assert internal.status_code == 422 and "refused" in internal.text
        for name, kind, path in (("fail", "webhook", "/fail"), ("robot", "wecom", "/ok")):
            config = {"url": f"http://127.0.0.1:{port}{path}"}
            if kind == "webhook":
                config["secret"] = "s"
            made = client.post(
                "/api/notices/channels", json={"name": name, "kind": kind, "config": config}
            )
            assert made.status_code == 201, made.text
            tested = client.post(f"/api/notices/channels/{made.json()['id']}/test", json={})
            assert tested.status_code == 200
            assert tested.json()["ok"] is False
            assert "SECRET-BODY" not in tested.text and "internal detail" not in tested.text
        assert (
            client.post(f"/api/notices/channels/{made.json()['id']}/test", json={})
            .json()["result"]
            .startswith("robot refused: HTTP 200")
        )
    finally:
        get_notice_settings.cache_clear()
