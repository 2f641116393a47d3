"""The runtimes a TFLite network is tested on, for parametrised fixtures."""

from __future__ import annotations

import pytest

# ``cuda`` is the PyTorch conversion on the GPU, held to the same bounds with TF32 off.
TFLITE_RUNTIMES = ["torch", "litert", pytest.param("cuda", marks=pytest.mark.gpu)]


def tflite_runtime(request: pytest.FixtureRequest) -> tuple[str, str]:
    """(device, runtime) for a ``TFLITE_RUNTIMES`` parameter; litert skips without its wheel."""
    if request.param == "litert":
        pytest.importorskip("ai_edge_litert.interpreter", reason="ai-edge-litert not installed")
    return ("cuda", "torch") if request.param == "cuda" else ("cpu", request.param)
