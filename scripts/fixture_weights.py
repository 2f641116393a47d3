#!/usr/bin/env python3
"""Write the parity fixture's random TRG weights as an official-format state_dict.bin.

For trying the pipeline without the official checkpoint: the network then runs exactly as
with real weights, but its poses are meaningless. Usage: fixture_weights.py FIXTURE_DIR OUT
"""

import sys
from pathlib import Path

import numpy as np
import torch


def main() -> int:
    fixture, out = Path(sys.argv[1]), Path(sys.argv[2])
    z = np.load(fixture / "trg_parity_weights.npz")
    state = {}
    for key in map(str, z["__order__"]):
        if "q:" + key in z:
            state[key] = torch.from_numpy(z["q:" + key].astype(np.float32) * z["s:" + key])
        else:
            state[key] = torch.from_numpy(np.array(z["r:" + key]))
    out.parent.mkdir(parents=True, exist_ok=True)
    torch.save(state, out)
    print(f"wrote {out} (random parity-fixture weights: poses are meaningless)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
