"""The runtime: the configuration, the cameras the service runs, the pipeline that wires them to
the model, the overrun watch and the Prometheus metrics they feed.

This package knows nothing of HTTP; it uses :mod:`streams`, :mod:`detector` and :mod:`store`.
"""
