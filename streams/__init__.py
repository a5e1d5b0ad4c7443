"""Camera input: decode RTSP streams and video files into :class:`streams.frame.Frame` objects.

This package knows nothing of models or HTTP.
"""
