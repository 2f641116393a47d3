"""A broken checkpoint gives one human line naming the problem."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
import torch

from trg_ros.core.catalogue import ModelFiles
from trg_ros.core.errors import CheckpointError
from trg_ros.core.model.checkpoint import load_trg


def load(model_dir: Path, weights: Path):
    return load_trg(weights, ModelFiles.in_dir(model_dir).sampled_vertices)


def one_line(e: pytest.ExceptionInfo) -> str:
    msg = str(e.value)
    assert "\n" not in msg
    return msg


def test_missing_key(model_dir: Path, tmp_path: Path) -> None:
    state = torch.load(model_dir / "state_dict.bin", weights_only=True)
    del state["regressor.1.fc2.bias"]
    torch.save(state, tmp_path / "w.bin")
    with pytest.raises(CheckpointError) as e:
        load(model_dir, tmp_path / "w.bin")
    assert "missing" in one_line(e) and "regressor.1.fc2.bias" in str(e.value)


def test_wrong_shape(model_dir: Path, tmp_path: Path) -> None:
    state = torch.load(model_dir / "state_dict.bin", weights_only=True)
    state["predict_68_lmk.0.bias"] = torch.zeros(5)
    torch.save(state, tmp_path / "w.bin")
    with pytest.raises(CheckpointError) as e:
        load(model_dir, tmp_path / "w.bin")
    assert "predict_68_lmk.0.bias" in one_line(e) and "(5,)" in str(e.value)


@pytest.mark.parametrize("keep", [0.5, 5000, 10])
def test_truncated_file(model_dir: Path, tmp_path: Path, keep: float) -> None:
    data = (model_dir / "state_dict.bin").read_bytes()
    (tmp_path / "w.bin").write_bytes(data[: int(len(data) * keep) if keep < 1 else int(keep)])
    with pytest.raises(CheckpointError) as e:
        load(model_dir, tmp_path / "w.bin")
    assert "truncated" in one_line(e)


def test_missing_file_and_unexpected_key(model_dir: Path, tmp_path: Path) -> None:
    with pytest.raises(CheckpointError, match="does not exist"):
        load(model_dir, tmp_path / "nope.bin")
    state = torch.load(model_dir / "state_dict.bin", weights_only=True)
    state["fc.weight"] = torch.zeros(1)
    torch.save(state, tmp_path / "w.bin")
    with pytest.raises(CheckpointError, match=r"fc\.weight"):
        load(model_dir, tmp_path / "w.bin")


def test_valid_checkpoint_loads_strictly(model_dir: Path, tmp_path: Path) -> None:
    shutil.copy(model_dir / "state_dict.bin", tmp_path / "ok.bin")
    assert not load(model_dir, tmp_path / "ok.bin").training


def test_the_cli_says_it_in_one_line_and_exits_1(model_dir: Path, tmp_path: Path) -> None:
    """As a user's shell sees it: the last line names the file, no trace (that is for -v)."""
    import subprocess
    import sys

    (tmp_path / "w.bin").write_bytes(b"not a checkpoint")
    command = [sys.executable, "-m", "trg_ros.cli", "bench", "--model-only", "--device", "cpu"]
    command += ["--data-dir", str(model_dir), "--weights", str(tmp_path / "w.bin")]
    done = subprocess.run(command, capture_output=True, text=True, timeout=300)
    assert done.returncode == 1, done.stderr
    last = done.stderr.strip().splitlines()[-1]
    assert last.startswith("trg-ros bench: ") and "w.bin" in last, done.stderr
    assert "Traceback" not in done.stderr, done.stderr
    verbose = subprocess.run(
        [*command[:3], "-v", *command[3:]], capture_output=True, text=True, timeout=300
    )
    assert verbose.returncode == 1 and "Traceback" in verbose.stderr, verbose.stderr


def test_bench_refuses_a_repeat_count_below_one(capsys: pytest.CaptureFixture[str]) -> None:
    from trg_ros import cli

    with pytest.raises(SystemExit) as e:
        cli.main(["bench", "--repeats", "0"])
    assert e.value.code == 2 and "at least 1" in capsys.readouterr().err
