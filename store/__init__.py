"""Persistence: the database (tables, migrations), event records, snapshots, accounts, sealed
secrets and the files the service keeps private.

This package knows nothing of HTTP, of the running pipeline or of alert delivery; it consumes
:class:`detector.types.EventUpdate`.
"""
