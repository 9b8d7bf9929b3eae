"""Township scope, in one place: which rows a caller may see, as SQL, failing closed.

A scope is the caller's townships (:attr:`gis.access.auth.Principal.townships`): ``None`` means
every township (office, admin, an unscoped viewer); a tuple means exactly those townships, and an
empty tuple means none at all — never "all". Every list, count, map layer and export asks this
module for its clause, so an account without townships sees nothing anywhere.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import ColumnElement, false, true

Scope = tuple[str, ...] | None


def scope_sql(column: str, scope: Scope, params: dict[str, Any], key: str = "f_scope") -> str:
    """SQL boolean: ``column`` lies in ``scope`` (adds the bound parameter to ``params``)."""
    if scope is None:
        return "TRUE"
    if not scope:
        return "FALSE"
    params[key] = list(scope)
    return f"{column} = ANY(:{key})"


def scope_filter(column: Any, scope: Scope) -> ColumnElement[bool]:
    """The same rule as :func:`scope_sql` for SQLAlchemy statements."""
    if scope is None:
        return true()
    if not scope:
        return false()
    return column.in_(list(scope))


def in_scope(scope: Scope, township_code: str | None) -> bool:
    """Whether one row of ``township_code`` is visible under ``scope``."""
    return scope is None or township_code in scope
