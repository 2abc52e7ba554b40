"""agents/pretrain_multishape.py, tiny: the multishape files come from one command, the
same command gives the same file, a file written along the way names the command that
remakes it, and ⟨3,3,3⟩ is never trained on."""

from __future__ import annotations

import importlib.util
import json

import numpy as np
import pytest

from alphaalgo import presets

TINY = """
[game]
history = 1
[network]
width = 8
layers = 1
heads = 2
multishape = true
max_dim = 3
attention = "axial"
[demos]
p_zero = 0.6
structured = 0.5
[training]
batch_size = 8
[acting]
transvections_z2 = 2
"""


def _script():
    spec = importlib.util.spec_from_file_location(
        "pretrain_multishape", presets.agents_dir() / "pretrain_multishape.py")
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


def _meta(path) -> dict:
    with np.load(path, allow_pickle=False) as z:
        return json.loads(str(z["__meta__"]))


def test_a_file_written_along_the_way_is_what_its_command_gives(tmp_path, monkeypatch):
    script = _script()
    preset = tmp_path / "tiny-multishape.toml"
    preset.write_text(TINY)
    common = ["--ring", "Z2", "--agent", str(preset), "--shapes", "2,2,2;2,2,3", "--rows", "4",
              "--count", "3", "--harvest-flips", "20000000", "--targets", "3",
              "--store", str(tmp_path / "harvest.sqlite")]
    saved = []
    original = script.learner.save_params

    def keep_each(path, params, meta):          # each save also kept under its step count
        original(path, params, meta)
        saved.append(tmp_path / f"step{meta['steps']}.npz")
        original(saved[-1], params, meta)

    monkeypatch.setattr(script.learner, "save_params", keep_each)
    out = tmp_path / "a.npz"
    assert script.main(["--steps", "2", "--save-every", "1", "--out", str(out)] + common) == 0
    assert [p.name for p in saved] == ["step1.npz", "step2.npz"]
    meta = _meta(out)
    assert meta["steps"] == 2 and meta["attention"] == "axial" and meta["targets"] == 3
    assert meta["held_out"] == [3, 3, 3] and [3, 3, 3] not in meta["shapes"]
    assert "'2,2,2;2,2,3'" in meta["command"]           # quoted for a shell
    first = _meta(saved[0])["command"]
    assert first.startswith("agents/pretrain_multishape.py --steps 1 ") and "--save-every" in first
    monkeypatch.undo()
    # run the command the step-1 file names: the same arrays
    again = tmp_path / "again.npz"
    args = first.split()[1:]
    args[args.index("--out") + 1] = str(again)
    args[args.index("--shapes") + 1] = "2,2,2;2,2,3"
    assert script.main(args) == 0
    with np.load(saved[0], allow_pickle=False) as a, np.load(again, allow_pickle=False) as b:
        keys = [k for k in a.files if k != "__meta__"]
        assert keys and all(np.array_equal(a[k], b[k]) for k in keys)


def test_the_held_out_shape_is_refused(tmp_path):
    with pytest.raises(SystemExit, match="held-out"):
        _script().main(["--ring", "Z2", "--shapes", "3,3,3", "--out", str(tmp_path / "x.npz")])
    assert not (tmp_path / "x.npz").exists()
