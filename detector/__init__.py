"""Scoring: ONNX model loading, cross-camera batching, postprocessing and temporal smoothing.

This package knows nothing of HTTP; it consumes :class:`streams.frame.Frame`.
"""
