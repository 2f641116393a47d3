"""The runtimes a TFLite network is tested on, for parametrised fixtures."""

from __future__ import annotations

import pytest

# ``cuda`` is the PyTorch conversion on the GPU, held to the same bounds with TF32 off.
TFLITE_RUNTIMES = ["torch", "litert", pytest.param("cuda", marks=pytest.mark.gpu)]


def tflite_runtime(request: pytest.FixtureRequest) -> tuple[str, str]:
    """(device, runtime) for a ``TFLITE_RUNTIMES`` parameter; litert must be installed
    (``scripts/dev setup``): its absence fails, it never skips."""
    if request.param == "litert":
        import ai_edge_litert.interpreter  # noqa: F401
    return ("cuda", "torch") if request.param == "cuda" else ("cpu", request.param)
