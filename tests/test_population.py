"""Population-based training: members are ordinary campaigns; exploit copies a
checkpoint, explore perturbs the hyperparameters; locally and with Ray Tune."""

from __future__ import annotations

import os
import subprocess
import sys

import numpy as np
import pytest

from alphaalgo import learner, population, presets
from alphaalgo.campaign import Campaign, CampaignSpec
from alphaalgo.cli import main
from alphaalgo.store import Store


def _discover(*args: str) -> list[str]:
    return [sys.executable, "-c", "import sys; from alphaalgo.cli import main; sys.exit(main())",
            "discover", "--shape", "2,2,2", "--agent", "tiny", "--quiet", *args]


def test_perturb_stays_in_its_factors():
    rng = np.random.default_rng(0)
    hp = {"learning_rate": 1e-3, "temperature": 1.0, "speed_weight": 0.1}
    for _ in range(50):
        new = population.perturb(rng, hp)
        for k in hp:
            assert min(abs(new[k] / hp[k] - f) for f in population.PERTURB) < 1e-12
    zero = dict(hp, speed_weight=0.0)
    lams = {population.perturb(rng, zero)["speed_weight"] for _ in range(200)}
    assert 0.0 in lams and lams - {0.0} <= set(population.SPEED_WEIGHTS[1:]) and len(lams) > 1
    preset = population.with_hyperparameters(presets.load_preset("tiny"), hp, name="x")
    assert population.hyperparameters(preset) == hp and preset.name == "x"


def test_one_exploit_rule_lower_quantile_copies_upper():
    """The rule both runners use (Ray Tune's PBT quantiles): ⌈n/4⌉ members, at most
    half, copy a random member of the top as many; explore perturbs only the
    hyperparameters and keeps the rest of a Tune config."""
    rng = np.random.default_rng(1)
    assert [population.quantile_size(n) for n in (1, 2, 3, 4, 5, 8, 9)] == [0, 1, 1, 1, 2, 2, 3]
    scores = [-5.0, -3.0, -4.0, -1.0, -2.0]
    for _ in range(20):
        pairs = population.exploit_pairs(scores, rng)
        assert sorted(i for i, _ in pairs) == [0, 2]           # the two lowest
        assert all(d in (3, 4) for _, d in pairs)               # donors from the two highest
    assert population.exploit_pairs([-1.0], rng) == []
    cfg = {"member": 3, "learning_rate": 1e-3, "temperature": 1.0, "speed_weight": 0.1}
    new = population.explore(rng, cfg)
    assert new["member"] == 3 and set(new) == set(cfg)
    assert all(min(abs(new[h] / cfg[h] - f) for f in population.PERTURB) < 1e-12
               for h in population.HYPERPARAMETERS)


def test_local_population_exploits_by_checkpoint(tmp_path):
    """Two tiny members, two generations, on this machine; then a manual exploit:
    the loser's next run resumes from the winner's parameters."""
    store = tmp_path / "p.db"
    r = subprocess.run(_discover("--store", str(store), "--population", "2", "--pbt-interval", "8",
                                 "--time-limit", "32"), capture_output=True, text=True, timeout=1500)
    assert r.returncode == 0, r.stderr          # a scheme: tiny's games, completed
    assert "population of 2 (local)" in r.stdout and "generation 1:" not in r.stderr  # --quiet
    with Store(store, readonly=True) as s:
        camps = {c["name"]: c["id"] for c in s.campaigns()}
        assert sorted(camps) == ["discover 2,2,2 Z tiny-pbt0 seed 0", "discover 2,2,2 Z tiny-pbt1 seed 1"]
        cks = {n: s.latest_checkpoint(i) for n, i in camps.items()}
    assert all(ck is not None for ck in cks.values())
    (loser, lid), (winner, wid) = sorted(camps.items())
    step = population.adopt(str(store), lid, cks[winner][1])
    with Store(store, readonly=True) as s:
        step_now, path = s.latest_checkpoint(lid)
    assert step_now == step and open(path, "rb").read() == open(cks[winner][1], "rb").read()
    # The loser resumes from the adopted state: its parameters are the winner's.
    spec = population.member_spec(
        CampaignSpec(shape=(2, 2, 2), ring="Z", preset=presets.load_preset("tiny"), store=str(store)),
        population.Member(0, population.hyperparameters(presets.load_preset("tiny")), "tiny-pbt0"), 1.0)
    camp = Campaign(spec, log=lambda m: None)
    template = camp._call("init", 0)
    assert camp._call("get_state").step == 0
    with Store(store) as s:
        camp.campaign_id = lid
        assert camp._resume(s, template)
    ours = camp._call("get_state")
    theirs, _ = learner.load_checkpoint(cks[winner][1], template)
    assert ours.step == theirs.step
    for a, b in zip(np.asarray(list(_leaves(ours.params))), np.asarray(list(_leaves(theirs.params)))):
        np.testing.assert_array_equal(a, b)


def _leaves(tree):
    import jax

    return [np.asarray(x).ravel()[:8] for x in jax.tree_util.tree_leaves(tree)]


def test_population_on_ray_tune(tmp_path):
    """Ray Tune's PBT scheduler runs the members as trials; each is a campaign in the store."""
    import ray  # noqa: F401  (the 'distributed' extra; make setup installs it)

    store = tmp_path / "p.db"
    env = dict(os.environ, RAY_USAGE_STATS_ENABLED="0")
    r = subprocess.run(_discover("--store", str(store), "--population", "2", "--pbt-interval", "5",
                                 "--time-limit", "20", "--backend", "ray"),
                       capture_output=True, text=True, timeout=1500, env=env, cwd=tmp_path)
    assert r.returncode == 0, r.stderr[-3000:]   # a scheme: tiny's games, completed
    assert "population of 2 (ray)" in r.stdout, r.stdout
    with Store(store, readonly=True) as s:
        camps = s.campaigns()
        assert sorted(c["name"] for c in camps) == ["discover 2,2,2 Z tiny-pbt0 seed 0",
                                                    "discover 2,2,2 Z tiny-pbt1 seed 1"]
        assert all(s.latest_checkpoint(c["id"]) is not None for c in camps)
    assert (tmp_path / "p.db.tune").is_dir()


@pytest.mark.parametrize("args,message", [
    (["--population", "1"], "--population must be between 2 and 256"),
    (["--pbt-interval", "5"], "only with --population"),
    (["--population", "2", "--backend", "ray", "--actors", "2"], "not with --population"),
])
def test_population_bad_input(tmp_path, capsys, args, message):
    code = main(["discover", "--shape", "2,2,2", "--store", str(tmp_path / "s.db"), *args])
    assert code == 2 and message in capsys.readouterr().err
    assert not (tmp_path / "s.db").exists()
