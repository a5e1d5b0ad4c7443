"""The runtime: the configuration, the cameras the service runs, the pipeline that wires them to
the model, and the overrun watch.

This package knows nothing of HTTP; it uses :mod:`streams`, :mod:`detector` and :mod:`store`.
"""
