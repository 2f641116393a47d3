"""The parity fixture's random TRG weights as an official-format state dict.

For tests and for trying the pipeline without the official checkpoint: the network then runs
exactly as with real weights, but its poses are meaningless.
``python -m trg_ros.tools.fixture FIXTURE_DIR OUT.bin`` writes a ``state_dict.bin``.
"""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import torch

from trg_ros.core.model.checkpoint import weights_digest

# weights_digest of the parity fixture's state dict (test_precision_scope checks it against
# ../shared/trg_reference): how tools recognise the random weights in any file.
PARITY_WEIGHTS_DIGEST = "d5a80d81cb3a04558d48cecff22cea163d5df93498173252ead6598e59257155"


def parity_state_dict(fixture_dir: Path) -> dict[str, torch.Tensor]:
    """Rebuild the 189 tensors from ``trg_parity_weights.npz`` (its README's recipe)."""
    z = np.load(Path(fixture_dir) / "trg_parity_weights.npz")
    state = {}
    for key in map(str, z["__order__"]):
        if "q:" + key in z:  # int8 codes times a power-of-two scale: exact in float32
            state[key] = torch.from_numpy(z["q:" + key].astype(np.float32) * z["s:" + key])
        else:
            state[key] = torch.from_numpy(np.array(z["r:" + key]))
    return state


def is_parity_fixture(model: torch.nn.Module) -> bool:
    """True when ``model`` holds the parity fixture's random weights, whatever file they came
    from: accuracy measured with them says nothing about the official checkpoint."""
    return weights_digest(model.state_dict()) == PARITY_WEIGHTS_DIGEST


def main(argv: list[str]) -> int:
    if len(argv) != 2:
        print("usage: python -m trg_ros.tools.fixture FIXTURE_DIR OUT.bin", file=sys.stderr)
        return 2
    out = Path(argv[1])
    out.parent.mkdir(parents=True, exist_ok=True)
    torch.save(parity_state_dict(Path(argv[0])), out)
    print(f"wrote {out} (random parity-fixture weights: poses are meaningless)")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
