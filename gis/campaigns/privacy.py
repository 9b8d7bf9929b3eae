"""Complainants' personal data out of published text (信息公开去隐私): ID numbers, phone numbers,
e-mail addresses and the names given after words such as 举报人 / 投诉人 / 联系人."""

from __future__ import annotations

import re

_ID = re.compile(r"(?<![0-9A-Za-z])\d{17}[\dXx](?![0-9A-Za-z])|(?<!\d)\d{15}(?!\d)")
_MOBILE = re.compile(r"(?<!\d)(?:\+?86[-\s]?)?1[3-9]\d(?:[-\s]?\d{4}){2}(?!\d)")
_LANDLINE = re.compile(r"(?<!\d)0\d{2,3}[-\s]?\d{7,8}(?!\d)")
_LOCAL = re.compile(r"((?:电话|座机|联系方式|号码)[：:\s]*)\d{7,8}(?!\d)")
_EMAIL = re.compile(r"[\w.+-]+@[\w-]+(?:\.[\w-]+)+")
_NAMED = re.compile(
    r"(举报人|投诉人|信访人|反映人|来信人|来电人|联系人|当事人|实名举报人|群众)"
    r"[：:为是\s]*([\u4e00-\u9fff]{1,3}?)(?=[，,。；;、\s（(]|电话|手机|联系|身份证|先生|女士|$)"
)
_HONORIFIC = re.compile(r"([\u4e00-\u9fff])(?:某某|某)?(先生|女士)")


def redact(text: str) -> str:
    """``text`` without complainants' ID numbers, phone numbers, e-mails and names."""
    out = _ID.sub("[身份证号已隐去]", text)
    out = _EMAIL.sub("[邮箱已隐去]", out)
    out = _MOBILE.sub("[电话已隐去]", out)
    out = _LANDLINE.sub("[电话已隐去]", out)
    out = _LOCAL.sub(lambda m: f"{m[1]}[电话已隐去]", out)
    out = _NAMED.sub(lambda m: f"{m[1]}[姓名已隐去]", out)
    return _HONORIFIC.sub(lambda m: f"[姓名已隐去]{m[2]}", out)


def summary(text: str, limit: int = 80) -> str:
    """A redacted one-line summary of ``text`` at most ``limit`` characters long."""
    flat = re.sub(r"\s+", " ", redact(text)).strip()
    return flat if len(flat) <= limit else flat[: limit - 1] + "…"
