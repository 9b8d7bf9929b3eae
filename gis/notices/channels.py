"""Channels: e-mail over SMTP, DingTalk and WeCom group robots, and a signed generic JSON webhook.

Payloads are built once when a notice is queued (and stored in the delivery log); signatures are
computed at send time. Every sender raises :class:`ChannelError` on any failure, with a message
fit for the log, and returns a short description of the receiver's answer on success.

- DingTalk custom robot (自定义机器人, 加签): ``POST url&timestamp=<ms>&sign=<sign>`` with
  ``sign = urlencode(base64(HMAC-SHA256(secret, f"{timestamp}\\n{secret}")))`` and a
  ``{"msgtype": "markdown", ...}`` body; the answer ``{"errcode": 0}`` means delivered.
- WeCom group robot (群机器人): ``POST`` the key URL with ``{"msgtype": "markdown",
  "markdown": {"content": ...}}``; ``{"errcode": 0}`` means delivered.
- Generic webhook: ``POST`` JSON with ``X-Lookback-Timestamp: <unix s>`` and
  ``X-Lookback-Signature: sha256=<hex HMAC-SHA256(secret, f"{timestamp}.{body}")>``; any 2xx.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import smtplib
import ssl
import time
from email.message import EmailMessage
from email.utils import formataddr, formatdate, make_msgid
from typing import Any
from urllib.parse import quote_plus, urlsplit

from gis.errors import LookbackError
from gis.notices import outbound

SIGNATURE_HEADER = "X-Lookback-Signature"
TIMESTAMP_HEADER = "X-Lookback-Timestamp"
DELIVERY_HEADER = "X-Lookback-Delivery"
USER_AGENT = "Lookback-Notices/1"


class ChannelError(LookbackError, RuntimeError):
    """A delivery attempt failed; the message says why."""

    kind = "failed"


def dingtalk_sign(secret: str, timestamp_ms: int | str) -> str:
    """DingTalk's signature of ``timestamp_ms``, already URL-encoded."""
    to_sign = f"{timestamp_ms}\n{secret}".encode()
    digest = hmac.new(secret.encode(), to_sign, hashlib.sha256).digest()
    return quote_plus(base64.b64encode(digest))


def dingtalk_url(url: str, secret: str | None, timestamp_ms: int | None = None) -> str:
    """The robot URL with ``timestamp`` and ``sign`` appended when the robot has a secret."""
    if not secret:
        return url
    ts = timestamp_ms if timestamp_ms is not None else int(round(time.time() * 1000))
    sep = "&" if urlsplit(url).query else "?"
    return f"{url}{sep}timestamp={ts}&sign={dingtalk_sign(secret, ts)}"


def webhook_signature(secret: str, timestamp: str, body: bytes) -> str:
    """``sha256=<hex>``: HMAC-SHA256 of ``f"{timestamp}.{body}"`` under ``secret``."""
    mac = hmac.new(secret.encode(), timestamp.encode() + b"." + body, hashlib.sha256)
    return "sha256=" + mac.hexdigest()


def build_payload(
    kind: str,
    config: dict[str, Any],
    *,
    notice: dict[str, Any],
    markdown: str,
    recipients: list[dict[str, Any]],
) -> dict[str, Any]:
    """What a channel of ``kind`` sends for a notice (no secrets in it)."""
    title = f"{notice['number']} {notice['title']}"
    subject_code = notice.get("problem_code") or notice.get("complaint_code") or ""
    if kind == "email":
        emails = [r["email"] for r in recipients if r.get("email")]
        return {
            "subject": f"{title}：{subject_code}".rstrip("："),
            "from": config.get("from_addr", ""),
            "to": list(dict.fromkeys(emails)),
            "text": markdown,
        }
    if kind == "dingtalk":
        phones = (
            [r["phone"] for r in recipients if r.get("phone")]
            if config.get("at_recipients", True)
            else []
        )
        phones = list(dict.fromkeys(phones))
        mentions = ("\n\n" + " ".join(f"@{p}" for p in phones)) if phones else ""
        return {
            "msgtype": "markdown",
            "markdown": {"title": title, "text": markdown + mentions},
            "at": {"atMobiles": phones, "isAtAll": False},
        }
    if kind == "wecom":
        return {"msgtype": "markdown", "markdown": {"content": markdown}}
    if kind == "webhook":
        return {
            "event": "notice",
            "notice": notice,
            "recipients": [
                {k: r.get(k, "") for k in ("name", "role", "unit", "email", "phone")}
                for r in recipients
            ],
            "text": markdown,
        }
    raise ValueError(f"unknown channel kind {kind!r}")


def post_json(
    url: str, body: bytes, headers: dict[str, str], timeout: float, *,
    allow: frozenset[str] = frozenset(), robot: bool = False,
) -> tuple[int, str, int | None]:
    """POST ``body`` as JSON to a checked address; status, status line and a robot's errcode.

    Raises :class:`ChannelError` on a refused address, an unreachable host or a non-2xx answer;
    nothing of the answer but its status line is ever reported (see :mod:`gis.notices.outbound`).
    """
    netloc = urlsplit(url).hostname or "?"
    try:
        status, line, errcode = outbound.post(
            url,
            body,
            {"Content-Type": "application/json; charset=utf-8", "User-Agent": USER_AGENT,
             **headers},
            timeout=timeout,
            allow=allow,
            want_errcode=robot,
        )
    except outbound.RefusedDestination as exc:
        raise ChannelError(str(exc)) from exc
    except OSError as exc:
        raise ChannelError(f"cannot reach {netloc}: {type(exc).__name__}") from exc
    if not 200 <= status < 300:
        raise ChannelError(line)
    return status, line, errcode


def _robot_answer(status: int, line: str, errcode: int | None) -> str:
    if errcode != 0:
        raise ChannelError(f"robot refused: {line}, errcode {errcode}")
    return f"HTTP {status} errcode 0"


def _dumps(payload: dict[str, Any]) -> bytes:
    return json.dumps(payload, ensure_ascii=False, separators=(",", ":")).encode()


def send_email(
    config: dict[str, Any],
    payload: dict[str, Any],
    *,
    html: str | None,
    timeout: float,
    allow: frozenset[str] = frozenset(),
) -> str:
    """Send the e-mail through the configured SMTP server."""
    to = payload.get("to") or []
    if not to:
        raise ChannelError("no recipient has an e-mail address")
    message = EmailMessage()
    message["Subject"] = payload["subject"]
    message["From"] = formataddr((config.get("from_name", "督察整改办"), config["from_addr"]))
    message["To"] = ", ".join(to)
    message["Date"] = formatdate(localtime=True)
    message["Message-ID"] = make_msgid(domain=config["from_addr"].split("@")[-1])
    message.set_content(payload.get("text", ""))
    if html:
        message.add_alternative(html, subtype="html")
    security = config.get("security", "none")
    host, port = config["host"], int(config.get("port", 25))
    try:
        smtp = outbound.smtp_connect(
            host, port, ssl_wrap=security == "ssl", timeout=timeout, allow=allow
        )
        with smtp:
            if security == "starttls":
                smtp.starttls(context=ssl.create_default_context())
            if config.get("username"):
                smtp.login(config["username"], config.get("password", ""))
            refused = smtp.send_message(message, to_addrs=to)
    except outbound.RefusedDestination as exc:
        raise ChannelError(f"SMTP {exc}") from exc
    except smtplib.SMTPResponseException as exc:
        raise ChannelError(f"SMTP {host}:{port}: {exc.smtp_code}") from exc
    except smtplib.SMTPException as exc:
        raise ChannelError(f"SMTP {host}:{port}: {type(exc).__name__}") from exc
    except OSError as exc:
        raise ChannelError(f"cannot reach SMTP {host}:{port}: {type(exc).__name__}") from exc
    accepted = len(to) - len(refused)
    note = f"; refused {', '.join(sorted(refused))}" if refused else ""
    return f"SMTP accepted {accepted} of {len(to)}{note}"


def send(
    kind: str,
    config: dict[str, Any],
    payload: dict[str, Any],
    *,
    html: str | None = None,
    timeout: float = 10.0,
    delivery_id: int | None = None,
    allow_hosts: str | frozenset[str] = frozenset(),
) -> str:
    """Send ``payload`` through a channel; a description of the answer, or :class:`ChannelError`.

    ``allow_hosts`` names the hosts that may be internal addresses
    (``LOOKBACK_NOTICES_ALLOW_HOSTS``).
    """
    allow = outbound.parse_allow_list(allow_hosts)
    if kind == "email":
        return send_email(config, payload, html=html, timeout=timeout, allow=allow)
    body = _dumps(payload)
    if kind == "dingtalk":
        url = dingtalk_url(config["url"], config.get("secret"))
        return _robot_answer(*post_json(url, body, {}, timeout, allow=allow, robot=True))
    if kind == "wecom":
        return _robot_answer(
            *post_json(config["url"], body, {}, timeout, allow=allow, robot=True)
        )
    if kind == "webhook":
        timestamp = str(int(time.time()))
        headers = {
            TIMESTAMP_HEADER: timestamp,
            config.get("header") or SIGNATURE_HEADER: webhook_signature(
                config["secret"], timestamp, body
            ),
        }
        if delivery_id is not None:
            headers[DELIVERY_HEADER] = str(delivery_id)
        _, line, _ = post_json(config["url"], body, headers, timeout, allow=allow)
        return line
    raise ChannelError(f"unknown channel kind {kind!r}")


def probe_payload(kind: str, config: dict[str, Any], to: str | None = None) -> dict[str, Any]:
    """A harmless message that checks a channel end to end."""
    markdown = "### Lookback 通知渠道测试\n\n这是一条测试消息，收到即表示渠道配置正确。"
    notice = {"id": None, "number": "测试", "title": "渠道测试", "kind": "test"}
    recipients = [{"name": "test", "role": "office", "email": to or config.get("test_to", "")}]
    return build_payload(kind, config, notice=notice, markdown=markdown, recipients=recipients)
