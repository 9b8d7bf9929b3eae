"""Who may do what: one table from permission to roles, and which lifecycle actions each role runs.

Every route names exactly one permission (checked before anything else runs); township scope is
applied inside the queries. A route without a permission fails the route × role test.
"""

from __future__ import annotations

ALL_ROLES = frozenset({"admin", "office", "township", "inspector", "viewer"})
STAFF = frozenset({"admin", "office"})

POLICY: dict[str, frozenset[str]] = {
    "public": frozenset(),  # no sign-in needed (health, login page, static assets)
    "read": ALL_ROLES,  # maps, layers, lists, reports within scope
    "problem:create": STAFF,
    "problem:update": STAFF | {"township"},
    "problem:transition": STAFF | {"township", "inspector"},  # refined per action below
    "problem:onsite": STAFF | {"inspector"},
    "milestone:write": STAFF | {"township"},
    "complaint:write": STAFF,
    "lookback:write": STAFF,
    "lookback:result": STAFF | {"inspector", "township"},
    "rebound:decide": STAFF,
    "inspection:submit": STAFF | {"township", "inspector"},
    "import:write": STAFF,
    "export:read": STAFF | {"township", "viewer"},
    "notice:manage": STAFF,
    "user:manage": frozenset({"admin"}),
    "calendar:manage": frozenset({"admin"}),  # load a year's official holiday schedule
    "campaign:manage": STAFF,  # campaigns, transfer lists, cases, assessment rules
    "campaign:handle": STAFF | {"township"},  # check, handle and reply to a township's cases
    "dispatch:report": STAFF | {"township"},  # a township's daily progress report
    "accountability:write": STAFF,  # summons and accountability held (约谈、问责)
}

# Lifecycle actions by role: townships rectify and apply, the office assigns, checks and closes.
ACTION_ROLES: dict[str, frozenset[str]] = {
    "assign": STAFF,
    "start": STAFF | {"township"},
    "apply_closure": STAFF | {"township"},
    "record_check": STAFF | {"inspector"},
    "reject_closure": STAFF,
    "approve_closure": STAFF,
    "end_public_notice": STAFF,
    "rebound": STAFF,
    "reopen": STAFF,
}
# Who may move a goalpost later (a deadline past the current one) and confirm a milestone met;
# others may only bring a deadline forward, and their "milestone met" is a claim to reconcile.
GOALPOST_ROLES = STAFF


def may_move_goalposts(role: str | None) -> bool:
    """Whether ``role`` may extend a deadline or confirm a milestone (``None``: a trusted
    internal caller such as the command line or the office's Excel import)."""
    return role is None or role in GOALPOST_ROLES


# Actions that need the password again, even within a session (re-authentication).
REAUTH_ACTIONS = frozenset({"approve_closure"})


def allowed(permission: str, role: str | None) -> bool:
    """Whether ``role`` holds ``permission`` (anyone holds ``public``)."""
    if permission == "public":
        return True
    if permission not in POLICY:
        raise KeyError(f"unknown permission {permission!r}")
    return role in POLICY[permission]


def may_run(action: str, role: str) -> bool:
    """Whether ``role`` may run lifecycle ``action``."""
    return role in ACTION_ROLES.get(action, frozenset())
