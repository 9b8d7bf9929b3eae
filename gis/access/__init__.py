"""Who may do what: users, roles, passwords, bearer tokens, browser sessions and township scope.

:mod:`gis.access.auth` keeps the accounts (argon2 hashes, lockout, hashed tokens, sessions) and the
township scope of each account; :mod:`gis.access.permissions` is the one table from permission to
roles that every route names. Nothing here knows about HTTP; ``server/`` turns these answers into
401/403 responses.
"""
