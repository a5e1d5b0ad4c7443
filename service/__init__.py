"""The runtime: the configuration, the cameras the service runs, the pipeline that wires them to
the model, the recorder thread that stores what they find, the overrun watch, the reasons the
service is degraded and the Prometheus metrics.

This package knows nothing of HTTP; it uses :mod:`streams`, :mod:`detector` and :mod:`store`.
"""
