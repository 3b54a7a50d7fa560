"""Reliability: bad inputs get one line naming the flag before any work, outputs never
overwrite inputs, unwritable outputs are refused up front, killed jobs leave nothing behind."""

from __future__ import annotations

import math
import os
from pathlib import Path

import pytest

from magicdance_core.checks import (check_distinct, check_input_file, check_number, check_output,
                                    check_seed)
from magicdance_core.errors import BadInput


def unwritable_dir(tmp_path: Path) -> Path:
    """A folder nobody can create files in: /sys as root (chmod does not stop root), else chmod 555."""
    if os.geteuid() == 0:
        return Path("/sys/kernel")
    d = tmp_path / "ro"
    d.mkdir()
    d.chmod(0o555)
    return d


# -- the shared checks ---------------------------------------------------------------------------
@pytest.mark.parametrize("value", [math.nan, math.inf, -math.inf, -1.0, 1e-6])
def test_check_number_refuses_out_of_range_and_non_finite(value):
    with pytest.raises(BadInput, match="--fps"):
        check_number(value, "--fps", 1, 240)


def test_check_number_accepts_and_converts():
    assert check_number("2.5", "--x", 0, 3) == 2.5
    assert check_number(3, "--n", 1, 4, integer=True) == 3
    with pytest.raises(BadInput, match="whole number"):
        check_number(2.5, "--n", integer=True)
    with pytest.raises(BadInput, match=r"--eta must be >= 0"):
        check_number(-3, "--eta", 0)


@pytest.mark.parametrize("seed", [-1, 2**64, 2**100])
def test_check_seed_beyond_64_bits(seed):
    with pytest.raises(BadInput, match="--seed"):
        check_seed(seed)
    assert check_seed(2**63 - 1) == 2**63 - 1


def test_check_output_refuses_inputs_folders_and_unwritable(tmp_path):
    song = tmp_path / "s.wav"
    song.write_bytes(b"x")
    with pytest.raises(BadInput, match="-o .* also the input --music"):
        check_output(song, "-o", inputs={"--music": song})
    with pytest.raises(BadInput, match="-o .* also the input --music"):
        check_output(tmp_path / "." / "s.wav", "-o", inputs={"--music": song})  # same file, other spelling
    with pytest.raises(BadInput, match="must name a file"):
        check_output(tmp_path, "-o")
    with pytest.raises(BadInput, match="must be a .mp4"):
        check_output(tmp_path / "v.mov", "-o", suffixes=(".mp4",))
    with pytest.raises(BadInput, match="-o: cannot write"):
        check_output(unwritable_dir(tmp_path) / "v.mp4", "-o")
    with pytest.raises(BadInput, match="is a file, not a folder"):
        check_output(song / "sub" / "v.mp4", "-o")
    assert check_output(tmp_path / "new" / "deeper" / "v.mp4", "-o") == tmp_path / "new" / "deeper" / "v.mp4"
    assert not (tmp_path / "new").exists()  # checking creates nothing
    with pytest.raises(BadInput, match="would overwrite the input"):
        check_output(tmp_path, "-o", folder=True, writes=["s.wav"], inputs={"PHOTO": song})
    with pytest.raises(BadInput, match="--json and --plot"):
        check_distinct({"--json": tmp_path / "a", "--plot": tmp_path / "a"})
    with pytest.raises(BadInput, match="--photo: photo not found"):
        check_input_file(tmp_path / "none.png", "--photo", "photo")
