"""Persistence: the database (every table and its migrations), event records, snapshots, muted
regions, accounts, sealed secrets and the files the service keeps private.

The alert tables live here too, with the rest of the schema the migrations build; :mod:`alerts`
does the delivering. This package knows nothing of HTTP or of the running pipeline; it consumes
:class:`detector.types.EventUpdate`.
"""
