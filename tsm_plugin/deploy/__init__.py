"""Deployment: a trained recognizer as an ONNX graph, and a runner for it.

Modules, each importing only those listed before it (no circle):

- ``onnx_runtime``: the optional packages (the ``export`` extra), a CPU
  session;
- ``quantize``: INT8 (ONNX Runtime static QDQ), calibrated on the config's
  videos and checked against the float graph;
- ``metadata``: what the runner needs from the config (test pipeline, frame
  step), stored in the graph;
- ``export``: ``python -m tsm_plugin.deploy.export``, the offline or
  streaming graph, checked in ONNX Runtime against PyTorch;
- ``runner``: stands apart. It imports nothing of torch, MMAction2 or the
  rest of the plugin (only numpy, onnxruntime, OpenCV/decord), so it can be
  copied to a device beside the ``.onnx`` file: ``python runner.py MODEL
  VIDEO``. ``tests/deploy/test_runner.py`` runs it where those imports fail.

Nothing is imported here, so ``python -m tsm_plugin.deploy.runner`` loads no
exporter.
"""
