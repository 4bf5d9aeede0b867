"""ONNX Runtime for the exporter and the int8 step: the optional packages
(the ``export`` extra) and a CPU session. Its own module so that
``quantize`` needs nothing of ``export`` (``export`` imports ``quantize``).
"""
EXTRA_HINT = "pip install -e '.[export]'  (or: pip install onnx onnxruntime)"


def require_onnxruntime():
    """``(onnx, onnxruntime)``, or an ImportError saying how to get them."""
    try:
        import onnx
        import onnxruntime
    except ImportError as error:
        raise ImportError(
            f'ONNX export needs the optional packages onnx and onnxruntime '
            f'({error}); install them with: {EXTRA_HINT}') from error
    return onnx, onnxruntime


def onnx_session(path, threads=0):
    """An ONNX Runtime CPU session; ``threads=0``: ONNX Runtime's default.
    Idle threads sleep instead of spinning, so the check does not slow down
    a shared machine (the latency benchmark sets its own options)."""
    _, onnxruntime = require_onnxruntime()
    options = onnxruntime.SessionOptions()
    options.intra_op_num_threads = threads
    options.add_session_config_entry('session.intra_op.allow_spinning', '0')
    return onnxruntime.InferenceSession(
        path, options, providers=['CPUExecutionProvider'])
