"""The restricted unpickler: plain data in, code refused."""

import collections
import os
import pickle

import numpy as np
import pytest
import torch

from magicdance_core.errors import BadInput
from magicdance_core.safe_pickle import safe_load


class _RunsCommand:
    def __init__(self, cmd):
        self.cmd = cmd

    def __reduce__(self):
        return (os.system, (self.cmd,))


class _Evals:
    def __reduce__(self):
        return (eval, ("__import__('os').getcwd()",))


def _data():
    return {"smpl_poses": np.random.default_rng(0).normal(size=(7, 72)).astype(np.float32),
            "smpl_trans": np.arange(21, dtype=np.float64).reshape(7, 3),
            "smpl_scaling": np.array([93.5]), "n": np.int64(7), "x": np.float32(2.5),
            "name": "gBR_sBM_cAll_d04_mBR0_ch01", "b": b"\x00\xff", "t": (1, 2.0, None, True),
            "s": {1, 2}, "fs": frozenset("ab"), "c": 1 + 2j, "od": collections.OrderedDict(a=[1, 2]),
            "obj": np.array([{"k": 1}, "s"], dtype=object), "big": np.ones((100, 100))}


def _same(a, b):
    assert a.keys() == b.keys()
    for k in a:
        if isinstance(a[k], np.ndarray):
            assert a[k].dtype == b[k].dtype
            if a[k].dtype == object:
                assert list(a[k]) == list(b[k])
            else:
                np.testing.assert_array_equal(a[k], b[k])
        else:
            assert a[k] == b[k] and type(a[k]) is type(b[k])


@pytest.mark.parametrize("protocol", [0, 2, 3, 4, 5])
def test_plain_data_round_trips_every_protocol(protocol, tmp_path):
    d = _data()
    f = tmp_path / "d.pkl"
    f.write_bytes(pickle.dumps(d, protocol=protocol))
    _same(safe_load(f), d)
    _same(safe_load(f.read_bytes()), d)


def test_numpy2_module_names_are_accepted():
    d = {"a": np.arange(6.0).reshape(2, 3), "s": np.float64(1.5)}
    raw = pickle.dumps(d, protocol=2)
    assert b"numpy.core.multiarray" in raw
    raw2 = raw.replace(b"numpy.core.multiarray", b"numpy._core.multiarray")
    out = safe_load(raw2)
    np.testing.assert_array_equal(out["a"], d["a"])
    assert out["s"] == 1.5


def test_pickle_that_runs_a_command_is_refused(tmp_path):
    marker = tmp_path / "ran"
    payload = pickle.dumps({"smpl_poses": _RunsCommand(f"touch {marker}")})
    # Control: the payload really would run the command under the plain unpickler.
    pickle.loads(payload)
    assert marker.exists()
    marker.unlink()
    f = tmp_path / "evil.pkl"
    f.write_bytes(payload)
    with pytest.raises(BadInput, match=r"(posix|os)\.system"):
        safe_load(f, what="AIST++ motion")
    assert not marker.exists()


@pytest.mark.parametrize("obj, name", [
    (_Evals(), "builtins.eval"),
    (torch.zeros(3), "torch._utils._rebuild_tensor_v2"),
    (_RunsCommand("true"), "system"),
    (collections.Counter("ab"), "collections.Counter"),
    (np.random.default_rng(0), "numpy.random"),
])
def test_other_globals_refused_with_their_name(obj, name):
    with pytest.raises(BadInput, match=name.replace(".", r"\.")) as e:
        safe_load(pickle.dumps(obj))
    assert "\n" not in str(e.value)


def test_python2_style_builtin_names_and_getattr_refused():
    # Protocol 0 with the Python 2 module name for set; and a hand-written getattr gadget.
    out = safe_load(b"c__builtin__\nset\n((lp0\nI1\naI2\natp1\nRp2\n.")
    assert out == {1, 2}
    with pytest.raises(BadInput, match=r"builtins\.getattr"):
        safe_load(b"cbuiltins\ngetattr\n(cbuiltins\nset\nS'add'\ntR.")


def test_extra_globals_hook_allows_what_the_caller_vets():
    import fractions
    raw = pickle.dumps({"r": fractions.Fraction(3, 4)})
    with pytest.raises(BadInput, match=r"fractions\.Fraction"):
        safe_load(raw)
    assert safe_load(raw, extra_globals={("fractions", "Fraction"): fractions.Fraction}) == {"r": fractions.Fraction(3, 4)}

    # A harmless stand-in class can replace the one the file names (as smpl_model does for chumpy).
    out = safe_load(raw, extra_globals={("fractions", "Fraction"): lambda *a: ("stand-in", a)})
    assert out["r"][0] == "stand-in"


@pytest.mark.parametrize("raw", [b"", b"not a pickle at all", pickle.dumps({"a": np.zeros(100)})[:-30], b"\x80\x04\x95"])
def test_corrupt_or_empty_is_bad_input(raw, tmp_path):
    f = tmp_path / "x.pkl"
    f.write_bytes(raw)
    with pytest.raises(BadInput):
        safe_load(f)


def test_missing_file(tmp_path):
    with pytest.raises(BadInput, match="not found"):
        safe_load(tmp_path / "nope.pkl", what="EDGE output")
