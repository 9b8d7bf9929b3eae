"""The ``lookback`` command line: one module per command group, sharing :mod:`server.cli.common`.

:mod:`server.cli.main` holds the root app (``up``, ``db``, ``demo``, ``user``, ``token``) and
mounts the groups: ``import`` (:mod:`server.cli.imports`, :mod:`server.cli.ledger`,
:mod:`server.cli.field`), ``export``, ``hotspots``, ``report``, ``notices``, ``backup``/``restore``
(:mod:`server.cli.ops`) and ``bench``.
"""
