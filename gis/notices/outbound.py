"""Outbound connections of notice channels: public addresses only, unless the admin allows a host.

A webhook, robot or SMTP host is resolved once; every address it resolves to must be a global
unicast address (not loopback, private, shared, link-local, multicast, reserved, unspecified or
documentation space; IPv4-mapped, 6to4 and Teredo IPv6 addresses are judged by the IPv4 address in
them). Numeric spellings (``2130706433``, ``0x7f.1``, ``017700000001``, ``127.1``) are what the
resolver makes of them, so they are judged as the address they mean. The connection then goes to
the address that was checked, so a name cannot resolve differently a moment later.

A host named in ``LOOKBACK_NOTICES_ALLOW_HOSTS`` (comma-separated names or addresses, compared
case-insensitively with the host as written in the channel) may resolve anywhere: that is how an
intranet's own webhook or mail relay is allowed.

HTTP requests follow no redirects, go through no proxy, and the answer is read only as far as a
robot's ``errcode`` needs; only the status line is ever reported.
"""

from __future__ import annotations

import http.client
import ipaddress
import json
import smtplib
import socket
import ssl
from collections.abc import Iterable
from urllib.parse import urlsplit

from gis.errors import LookbackError

ANSWER_LIMIT = 16_384  # bytes of a robot's answer read to find its errcode


class RefusedDestination(LookbackError, OSError):
    """A channel points at an address the app does not connect to."""

    kind = "refused"


def refused_reason(address: str) -> str | None:
    """Why connecting to ``address`` (an IP address) is refused, or None when it is public."""
    ip = ipaddress.ip_address(address.split("%", 1)[0])
    if isinstance(ip, ipaddress.IPv6Address):
        embedded = ip.ipv4_mapped or ip.sixtofour or (ip.teredo[1] if ip.teredo else None)
        if embedded is not None:
            return refused_reason(str(embedded))
        if ip in ipaddress.ip_network("64:ff9b::/96"):  # NAT64
            return refused_reason(str(ipaddress.IPv4Address(int(ip) & 0xFFFFFFFF)))
    for test, label in (
        (ip.is_loopback, "loopback"),
        (ip.is_unspecified, "unspecified"),
        (ip.is_link_local, "link-local"),
        (ip.is_multicast, "multicast"),
        (ip.is_private, "private"),
        (ip.is_reserved, "reserved"),
        (not ip.is_global, "not a public address"),
    ):
        if test:
            return label
    return None


def parse_allow_list(value: str | Iterable[str]) -> frozenset[str]:
    """The allowed host names from a comma-separated setting (or an iterable of them)."""
    items = value.split(",") if isinstance(value, str) else value
    return frozenset(h.strip().strip("[]").lower() for h in items if h and h.strip())


def resolve_checked(host: str, port: int, allow: frozenset[str]) -> list[str]:
    """The addresses to connect to for ``host``, or :class:`RefusedDestination`."""
    if not host:
        raise RefusedDestination("no host")
    bare = host.strip("[]")
    try:
        infos = socket.getaddrinfo(bare, port, type=socket.SOCK_STREAM)
    except (socket.gaierror, UnicodeError) as exc:
        raise RefusedDestination(f"cannot resolve {host}: {exc}") from exc
    addresses = list(dict.fromkeys(str(info[4][0]) for info in infos))
    if bare.lower() in allow:
        return addresses
    for address in addresses:
        reason = refused_reason(address)
        if reason is not None:
            raise RefusedDestination(
                f"拒绝连接内部地址 refused: {host} resolves to {address} ({reason}); "
                "an administrator may allow the host in LOOKBACK_NOTICES_ALLOW_HOSTS"
            )
    return addresses


def literal_refusal(host: str, allow: frozenset[str]) -> str | None:
    """Why a host written as an address (in any numeric form) is refused, without DNS."""
    bare = (host or "").strip("[]")
    if not bare or bare.lower() in allow:
        return None
    try:
        infos = socket.getaddrinfo(bare, None, flags=socket.AI_NUMERICHOST)
    except (socket.gaierror, UnicodeError):
        return None  # a name: judged when it is resolved at send time
    for info in infos:
        reason = refused_reason(str(info[4][0]))
        if reason is not None:
            return f"{host} is {info[4][0]} ({reason})"
    return None


class _PinnedHTTP(http.client.HTTPConnection):
    def __init__(self, host: str, port: int, address: str, timeout: float) -> None:
        super().__init__(host, port, timeout=timeout)
        self._address = address

    def connect(self) -> None:
        self.sock = socket.create_connection((self._address, self.port), self.timeout)


class _PinnedHTTPS(http.client.HTTPSConnection):
    def __init__(self, host: str, port: int, address: str, timeout: float) -> None:
        super().__init__(host, port, timeout=timeout, context=ssl.create_default_context())
        self._address = address

    def connect(self) -> None:
        sock = socket.create_connection((self._address, self.port), self.timeout)
        self.sock = self._context.wrap_socket(sock, server_hostname=self.host)  # type: ignore[attr-defined]


def _status_line(status: int, reason: str) -> str:
    reason = "".join(c for c in (reason or "") if c.isprintable())[:80]
    return f"HTTP {status} {reason}".strip()


def post(
    url: str,
    body: bytes,
    headers: dict[str, str],
    *,
    timeout: float,
    allow: frozenset[str],
    want_errcode: bool = False,
) -> tuple[int, str, int | None]:
    """POST ``body``; ``(status, status line, errcode)`` — errcode only for robots.

    Raises :class:`RefusedDestination` for a refused address and :class:`OSError` when the
    host cannot be reached. Redirects are answers like any other (a 3xx status), never followed.
    """
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise RefusedDestination(f"not an http(s) URL: {parts.scheme}://{parts.netloc}")
    port = parts.port or (443 if parts.scheme == "https" else 80)
    addresses = resolve_checked(parts.hostname, port, allow)
    path = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
    cls = _PinnedHTTPS if parts.scheme == "https" else _PinnedHTTP
    last: OSError | None = None
    for address in addresses:
        conn = cls(parts.hostname, port, address, timeout)
        try:
            conn.request("POST", path, body=body, headers=headers)
            response = conn.getresponse()
            errcode = None
            if want_errcode and 200 <= response.status < 300:
                try:
                    data = json.loads(response.read(ANSWER_LIMIT))
                    code = data.get("errcode") if isinstance(data, dict) else None
                    errcode = code if isinstance(code, int) else -1
                except ValueError:
                    errcode = -1
            return response.status, _status_line(response.status, response.reason), errcode
        except (OSError, http.client.HTTPException) as exc:
            last = exc if isinstance(exc, OSError) else OSError(str(exc))
        finally:
            conn.close()
    raise last or OSError("no address")


class _PinnedSMTP(smtplib.SMTP):
    def __init__(self, host: str, address: str, port: int, timeout: float) -> None:
        self._address = address
        super().__init__(timeout=timeout)
        self.connect(host, port)
        self._host = host

    def _get_socket(self, host, port, timeout):  # type: ignore[no-untyped-def, override]
        return socket.create_connection((self._address, port), timeout)


class _PinnedSMTPSSL(smtplib.SMTP_SSL):
    def __init__(self, host: str, address: str, port: int, timeout: float) -> None:
        self._address = address
        super().__init__(timeout=timeout, context=ssl.create_default_context())
        self.connect(host, port)
        self._host = host

    def _get_socket(self, host, port, timeout):  # type: ignore[no-untyped-def, override]
        sock = socket.create_connection((self._address, port), timeout)
        return self.context.wrap_socket(sock, server_hostname=host)


def smtp_connect(
    host: str, port: int, *, ssl_wrap: bool, timeout: float, allow: frozenset[str]
) -> smtplib.SMTP:
    """An SMTP connection to a checked address of ``host`` (TLS names still checked on ``host``)."""
    address = resolve_checked(host, port, allow)[0]
    cls = _PinnedSMTPSSL if ssl_wrap else _PinnedSMTP
    return cls(host, address, port, timeout)
