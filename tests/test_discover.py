"""``alphaalgo discover`` end to end (tiny agent), its errors and resuming."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest

from alphaalgo import catalog, formats, game, presets, tensors
from alphaalgo.campaign import Campaign, CampaignSpec
from alphaalgo.cli import main
from alphaalgo.demos import random_basis_change
from alphaalgo.player import Player
from alphaalgo.store import Store


def _exit_code(argv: list[str]) -> int:
    try:
        return main(argv)
    except SystemExit as exc:           # argparse's own errors
        return int(exc.code)


@pytest.mark.parametrize("argv,message", [
    (["--shape", "6,2,2"], "up to 5,5,5"),
    (["--shape", "2,2"], "three positive integers"),
    (["--shape", "2,2,2", "--agent", "nonesuch"], "no agent preset"),
    (["--shape", "2,2,2", "--out", "x.pdf"], "unknown extension"),
    (["--shape", "2,2,2", "--time-limit", "0"], "time-limit"),
    (["--shape", "2,2,2", "--target-rank", "0"], "target-rank"),
    (["--shape", "2,2,2", "--ring", "Z2", "--coefficients", "-1,0,1"], "coefficient"),
    (["--shape", "2,2,2", "--params", "missing.npz"], "no such file"),
])
def test_bad_input_is_one_line_and_exit_2(argv, message, tmp_path, capsys, monkeypatch):
    monkeypatch.chdir(tmp_path)
    assert _exit_code(["discover", *argv, "--store", str(tmp_path / "s.db")]) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and message in err
    assert not (tmp_path / "s.db").exists() and not (tmp_path / "x.pdf").exists()


def test_bad_preset_file_is_refused(tmp_path):
    bad = tmp_path / "bad.toml"
    bad.write_text("[network]\nwidht = 3\n")
    with pytest.raises(ValueError, match="unknown key 'widht'"):
        presets.load_preset(str(bad))
    for name in ("tiny", "small", "large"):
        assert presets.load_preset(name).name == name


def test_each_preset_table_is_one_dataclass(tmp_path):
    """One dataclass per TOML table, the Preset field of the same name; a key given
    under another table (the old split [training]) is refused."""
    import dataclasses

    pre = presets.load_preset("small")
    assert [f.name for f in dataclasses.fields(pre)][1:] == list(presets.TABLES)
    for table, cls in presets.TABLES.items():
        assert type(getattr(pre, table)) is cls
    assert pre.replay.pretrain_steps == 4000 and pre.training.batch_size == 128
    old = tmp_path / "old.toml"
    old.write_text("[training]\npretrain_steps = 3\n")
    with pytest.raises(ValueError, match=r"\[training\]: unknown key 'pretrain_steps'"):
        presets.load_preset(str(old))


def test_tiny_discover_end_to_end_and_resume(tmp_path, capsys):
    """<1,1,1> is solved in one move: the scheme is verified, stored and written;
    exit 0 at the target rank.  A second run resumes from the checkpoint."""
    store, out = tmp_path / "s.db", tmp_path / "best.json"
    argv = ["discover", "--shape", "1,1,1", "--target-rank", "1", "--agent", "tiny",
            "--time-limit", "60", "--store", str(store), "--out", str(out), "--quiet"]
    assert main(argv) == 0
    text = capsys.readouterr().out
    assert "target rank 1 reached" in text
    assert "the agent's own games: rank 1 ×" in text and "the agent itself played rank 1 after" in text
    rec = formats.read_scheme(out)
    assert rec.scheme.rank == 1 and tensors.verify(rec.scheme).valid
    with Store(store) as s:
        cid = s.find_campaign("discover 1,1,1 Z tiny seed 0")
        assert cid is not None
        found = s.list_schemes((1, 1, 1), "Z", cid)
        assert [x.rank for x in found] == [1]
        assert s.latest_checkpoint(cid) is not None
        assert s.count_examples(cid, "selfplay") >= 1
    assert main(argv + ["--resume"]) == 0
    captured = capsys.readouterr()
    assert "resumed campaign" in captured.err and "from step" in captured.err


@pytest.mark.slow
def test_tiny_campaign_on_2x2x2_runs_out_of_time(tmp_path):
    """A tiny agent cannot find a rank-1 scheme of <2,2,2>: exit 1 path, and
    every stored scheme (if any game reached zero) verifies."""
    spec = CampaignSpec(shape=(2, 2, 2), ring="Z2", preset=presets.load_preset("tiny"),
                        store=str(tmp_path / "s.db"), time_limit=5, target_rank=1, seed=1)
    result = Campaign(spec, log=lambda m: None).run()
    assert not result.reached and result.stats.games > 0
    assert result.stats.sims_per_second > 0
    with Store(tmp_path / "s.db") as s:
        for rec in s.list_schemes((2, 2, 2), "Z2"):
            assert tensors.verify(rec.scheme).valid and rec.rank >= 7
        assert s.latest_checkpoint(result.campaign_id) is not None


def test_a_round_going_at_the_deadline_is_cut_after_its_first_moves(tmp_path):
    """The time limit holds on a shape whose full round is long: the first round,
    past the deadline, is cut once it has played ``FIRST_ROUND_MOVES`` moves (no
    ⟨4,4,4⟩ game ends within them) and its games are completed into valid schemes."""
    from alphaalgo.campaign import FIRST_ROUND_MOVES

    pre = presets.load_preset("tiny")
    spec = CampaignSpec(shape=(4, 4, 4), ring="Z2", preset=pre, store=str(tmp_path / "s.db"),
                        time_limit=1e-3, seed=0)
    said: list[str] = []
    result = Campaign(spec, log=said.append).run()
    assert result.stats.rounds == 1 and result.stats.games == pre.acting.games
    assert any(f"cut at the time limit after {FIRST_ROUND_MOVES} of 80 moves" in m for m in said)
    with Store(tmp_path / "s.db") as s:
        batches = list(s.iter_examples(result.campaign_id, "selfplay"))
        steps = np.concatenate([b["step"] for b in batches])
        assert len(steps) == pre.acting.games * FIRST_ROUND_MOVES
        assert sorted(set(steps.tolist())) == list(range(FIRST_ROUND_MOVES))
        held = s.list_schemes((4, 4, 4), "Z2")
        assert held and all(tensors.verify(r.scheme).valid for r in held)


@pytest.mark.parametrize("ring", ["Z", "Z2"])
def test_games_start_in_bases_scrambled_as_the_ring_asks(ring, tmp_path):
    """Each acting basis is ``transvections_for(ring)`` elementary matrices from a
    (signed) permutation: over Z2 (4 by default) far from one, over Z (0 here) one."""
    tiny = presets.load_preset("tiny")
    acting = dataclasses.replace(tiny.acting, basis_change=1.0, transvections=0)
    assert acting.transvections_for("Z2") == 4 and acting.transvections_for("Z") == 0
    spec = CampaignSpec(shape=(2, 2, 2), ring=ring, preset=dataclasses.replace(tiny, acting=acting),
                        store=str(tmp_path / "s.db"))
    player = Campaign(spec).make_player()
    _, changes, _, _ = player.initial_states(np.random.default_rng(0), 32)
    ones = [int((np.abs(m) == 1).sum()) for ch in changes for m in ch.mats]   # 4 for a permutation
    if ring == "Z":
        assert ones == [4] * 96
    else:
        assert np.mean(ones) > 6
    target = player.target.astype(np.int64)
    for ch in changes:                                  # each change is undone exactly
        assert np.array_equal(ch.inverse().tensor(ch.tensor(target)), target % 2 if ring == "Z2" else target)


@pytest.mark.parametrize("ring", ["Z", "Z2"])
def test_schemes_are_mapped_back_from_the_acting_basis(ring, tmp_path):
    """A solved game in a changed basis becomes a valid scheme of the original target."""
    from alphaalgo import catalog

    spec = CampaignSpec(shape=(2, 2, 2), ring=ring, preset=presets.load_preset("tiny"),
                        store=str(tmp_path / "s.db"))
    player = Campaign(spec).make_player()
    s = catalog.strassen(ring)
    acts = np.concatenate([s.u, s.v, s.w], 0).T
    ch = random_basis_change(np.random.default_rng(0), (4, 4, 4), ring, 2)
    scheme = player.scheme(ch.factors(player.game, acts), ch)
    assert scheme.rank == 7 and tensors.verify(scheme).valid


@pytest.mark.parametrize("ring", ["Z", "Z2"])
def test_games_cut_off_by_the_move_limit_are_completed_into_valid_schemes(ring, tmp_path):
    """With 3 moves no <2,2,2> game can finish: each is completed by one term per
    non-zero fiber of its residual (after the best number of its moves), mapped
    back from its basis, and verifies; none is worse than the naive scheme; the
    campaign stores the best such scheme as 'agent+completion'."""
    pre = presets.load_preset("tiny")
    pre = dataclasses.replace(pre, game=dataclasses.replace(pre.game, max_moves=3),
                              acting=dataclasses.replace(pre.acting, basis_change=1.0))
    spec = CampaignSpec(shape=(2, 2, 2), ring=ring, preset=pre, store=str(tmp_path / "s.db"),
                        time_limit=1)
    campaign = Campaign(spec, log=lambda m: None)
    params = campaign._call("init", 0).params
    played = campaign.make_player().play(params, 0)
    assert not played.solved and len(played.completed) == pre.acting.games
    for _, scheme in played.completed:
        assert tensors.verify(scheme).valid and 7 <= scheme.rank <= 3 + 16
    # in the target's own basis a completion is never worse than the naive scheme (k = 0)
    own = dataclasses.replace(pre, acting=dataclasses.replace(pre.acting, basis_change=0.0))
    plain = Player(campaign.make_player().game, game.target_tensor((2, 2, 2)), own, 0, (2, 2, 2))
    assert all(7 <= s.rank <= 8 and tensors.verify(s).valid for _, s in plain.play(params, 0).completed)
    result = campaign.run()
    with Store(spec.store) as store:
        rows = store.list_schemes((2, 2, 2), ring, result.campaign_id)
    assert rows and {r.provenance["source"] for r in rows} == {"agent+completion"}
    assert all(tensors.verify(r.scheme).valid for r in rows)


def test_local_search_keeps_walking_from_the_best_scheme(tmp_path):
    """When the agent plays nothing at the best rank, rounds spend their unused
    local-search budget on the best scheme: from completed games (no game can
    finish in 3 moves) the campaign reaches rank 7 through local search."""
    pre = presets.load_preset("tiny")
    pre = dataclasses.replace(pre, game=dataclasses.replace(pre.game, max_moves=3),
                              acting=dataclasses.replace(pre.acting, localsearch_seconds=1.0))
    spec = CampaignSpec(shape=(2, 2, 2), ring="Z2", preset=pre, store=str(tmp_path / "s.db"),
                        time_limit=150, target_rank=7)       # stops at rank 7 (~25 s on 2 idle cores)
    result = Campaign(spec, log=lambda m: None).run()
    assert result.reached and result.best.rank == 7 and tensors.verify(result.best).valid
    with Store(spec.store) as store:
        rows = store.list_schemes((2, 2, 2), "Z2", result.campaign_id)
    sources = {r.provenance["source"] for r in rows}
    assert sources == {"agent+completion", "localsearch"}
    assert min(r.rank for r in rows if r.provenance["source"] == "localsearch") == 7


def test_pretraining_takes_at_most_a_third_of_the_time_limit(tmp_path):
    pre = presets.load_preset("tiny")
    pre = dataclasses.replace(pre, replay=dataclasses.replace(pre.replay, pretrain_steps=10**6))
    spec = CampaignSpec(shape=(1, 1, 1), ring="Z", preset=pre, store=str(tmp_path / "s.db"),
                        time_limit=12)
    lines: list[str] = []
    result = Campaign(spec, log=lines.append).run()
    assert any(line.startswith("pretraining stopped at update") for line in lines), lines
    assert 0 < result.stats.updates < 10**6 and result.stats.games > 0   # then it played
    assert result.best is not None and result.best.rank == 1


def test_parameters_of_another_network_are_refused(tmp_path, capsys):
    """Pretrained parameters for the small network do not fit the tiny one: exit 2."""
    params = presets.agents_dir() / "small-2x2x2-Z.npz"
    if not params.exists():
        pytest.skip("no shipped parameters")
    code = _exit_code(["discover", "--shape", "2,2,2", "--agent", "tiny", "--params", str(params),
                       "--store", str(tmp_path / "s.db"), "--time-limit", "5", "--quiet"])
    assert code == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "small-2x2x2-Z.npz" in err[0]
    assert not (tmp_path / "s.db").exists()


def test_a_resumed_campaign_shows_the_agent_its_refined_schemes_again(tmp_path):
    """Schemes local search improved are demonstrations; a resumed campaign,
    whose trainer starts empty, gets them back from the store."""
    spec = CampaignSpec(shape=(2, 2, 2), ring="Z", preset=presets.load_preset("tiny"),
                        store=str(tmp_path / "s.db"), time_limit=30)
    first = Campaign(spec, log=lambda m: None)
    first._call("init", 0)
    with Store(spec.store) as store:
        first._open(store)
        store.add_scheme(catalog.strassen(), {"source": "localsearch", "from_rank": 8}, first.campaign_id)
        store.add_scheme(tensors.naive_scheme(2, 2, 2), {"source": "agent"}, first.campaign_id)
        first._checkpoint(store)
    again = Campaign(dataclasses.replace(spec, resume=True), log=lambda m: None)
    template = again._call("init", 0)
    with Store(spec.store) as store:
        again._open(store)
        assert again.campaign_id == first.campaign_id
        assert again._resume(store, template)
    assert len(again.trainer.demonstrations) == 7 * (256 // 7)     # Strassen's 7 moves, 36 orders
    assert again.best.rank == 7


def test_a_campaign_learns_from_a_harvest_of_real_schemes(tmp_path, capsys):
    """--demos STORE: the store's schemes of the shape and ring reach the trainer, whose
    synthetic share of every batch then holds their (symmetry-changed) moves."""
    from alphaalgo.harvest import harvest

    real = tmp_path / "real.sqlite"
    with Store(real) as s:
        for scheme in harvest((2, 2, 2), "Z2", 3, time_limit=20, rank=7, seed=0,
                              walk=20_000).schemes:
            s.add_scheme(scheme, {"source": "alphaalgo harvest"})
    spec = CampaignSpec(shape=(2, 2, 2), ring="Z2", preset=presets.load_preset("tiny"),
                        store=str(tmp_path / "c.db"), time_limit=5, seed=2, demos=str(real))
    logs: list[str] = []
    campaign = Campaign(spec, log=logs.append)
    result = campaign.run()
    assert result.stats.games > 0
    assert any(m.startswith("real demonstrations:") and "rank 7" in m for m in logs)
    trainer = campaign.trainer
    assert len(trainer.real) >= 1 and all(tensors.verify(s, "Z2").valid for s in trainer.real)
    fresh, _ = trainer._batch(np.random.default_rng(0))
    n_real = round(len(fresh) * trainer.preset.replay.real_fraction)
    # a real demonstration's moves made and moves left add up to its scheme's rank, 7;
    # the synthetic ones' to their own random ranks
    whole = fresh.step - fresh.value
    assert n_real > 0 and np.all(whole[-n_real:] == 7)
    assert not np.all(whole[:-n_real] == 7)


def test_over_z_a_campaign_with_real_demonstrations_plays_in_the_targets_own_basis(tmp_path):
    """Over Z real rows show the tensor itself (its own symmetries fix it), so with
    --demos every game starts from T itself, in the identity basis; over Z2 (where real
    rows go through the games' basis changes) and without demos the preset holds."""
    real = tmp_path / "real.sqlite"
    strassen = catalog.strassen()
    with Store(real) as s:
        s.add_scheme(strassen, {"source": "test"})
        s.add_scheme(tensors.Scheme(strassen.u % 2, strassen.v % 2, strassen.w % 2, ring="Z2",
                                    shape=(2, 2, 2)), {"source": "test"})
    tiny = presets.load_preset("tiny")
    preset = dataclasses.replace(tiny, acting=dataclasses.replace(tiny.acting, basis_change=1.0))
    for ring, demos_given, changed in [("Z", True, False), ("Z", False, True), ("Z2", True, True)]:
        logs: list[str] = []
        spec = CampaignSpec(shape=(2, 2, 2), ring=ring, preset=preset,
                            store=str(tmp_path / f"{ring}{demos_given}.db"),
                            demos=str(real) if demos_given else None)
        campaign = Campaign(spec, log=logs.append)
        assert campaign.spec.preset.acting.basis_change == (1.0 if changed else 0.0)
        assert any("own basis" in m for m in logs) == (not changed)
        states, bases, _, _ = campaign.make_player().initial_states(np.random.default_rng(0), 8)
        own = [all(np.array_equal(m, np.eye(len(m))) for m in b.mats) for b in bases]
        target = np.asarray(campaign.target)
        assert all(own) == (not changed)
        if not changed:
            assert np.all(np.asarray(states.residual) == target[None])


def test_demos_without_usable_schemes_are_bad_input_and_write_nothing(tmp_path, capsys):
    real = tmp_path / "real.sqlite"
    with Store(real) as s:
        s.add_scheme(tensors.naive_scheme(2, 2, 3, "Z2"), {"source": "test"})
    out = tmp_path / "c.db"
    code = _exit_code(["discover", "--shape", "2,2,2", "--ring", "Z2", "--agent", "tiny",
                       "--time-limit", "5", "--demos", str(real), "--store", str(out), "--quiet"])
    err = capsys.readouterr().err
    assert code == 2 and "no Z2 scheme of 2,2,2" in err and len(err.strip().splitlines()) == 1
    assert not out.exists()
    code = _exit_code(["discover", "--shape", "2,2,2", "--agent", "tiny", "--demos",
                       str(tmp_path / "none.sqlite"), "--store", str(out), "--quiet"])
    assert code == 2 and "no such store" in capsys.readouterr().err and not out.exists()


def test_a_campaign_plays_endgames_of_its_harvest_and_keeps_k(tmp_path):
    """[acting] endgames with --demos: the rounds' games start from T minus all but k
    terms of the harvest's schemes; what they give is valid, and k is kept in the
    checkpoint (a resumed campaign goes on with it)."""
    from alphaalgo import learner
    from alphaalgo.harvest import harvest

    real = tmp_path / "real.sqlite"
    with Store(real) as s:
        for scheme in harvest((2, 2, 2), "Z2", 3, max_flips=1_000_000, rank=7, seed=0,
                              walk=20_000).schemes:
            s.add_scheme(scheme, {"source": "alphaalgo harvest"})
    tiny = presets.load_preset("tiny")
    preset = dataclasses.replace(tiny, acting=dataclasses.replace(
        tiny.acting, endgames=1.0, endgame_k=2, localsearch_seconds=0.0))
    spec = CampaignSpec(shape=(2, 2, 2), ring="Z2", preset=preset, store=str(tmp_path / "c.db"),
                        time_limit=5, seed=3, demos=str(real))
    campaign = Campaign(spec, log=lambda m: None)
    result = campaign.run()
    st = result.stats
    assert st.rounds >= 1 and st.endgames_played == st.rounds * tiny.acting.games
    assert st.endgame_k >= 1
    with Store(tmp_path / "c.db") as s:
        for rec in s.list_schemes((2, 2, 2), "Z2"):
            assert tensors.verify(rec.scheme, "Z2").valid
        _, path = s.latest_checkpoint(result.campaign_id)
    _, meta = learner.load_checkpoint(path, campaign.trainer.get_state())
    assert meta["endgame_k"] == st.endgame_k


@pytest.mark.parametrize("won,k_after", [(8, 4), (4, 4), (3, 3), (0, 2)])
def test_endgame_k_grows_when_half_are_won_and_falls_when_none_is(tmp_path, won, k_after):
    """Of 8 endgames at k = 3: 4 or more won → k = 4; none → k = 2; else unchanged."""
    from alphaalgo.player import Played

    tiny = presets.load_preset("tiny")
    preset = dataclasses.replace(tiny, acting=dataclasses.replace(tiny.acting, endgames=0.5,
                                                                  endgame_k=3))
    campaign = Campaign(CampaignSpec(shape=(2, 2, 2), ring="Z2", preset=preset,
                                     store=str(tmp_path / "c.db")), log=lambda m: None)
    assert campaign.stats.endgame_k == 3
    strassen = catalog.best((2, 2, 2), "Z")
    z2 = tensors.Scheme(strassen.u % 2, strassen.v % 2, strassen.w % 2, ring="Z2", shape=(2, 2, 2))
    endgame = np.array([3] * 8 + [0] * 8)
    solved = [(b, z2) for b in range(won)] + [(8, z2)]        # game 8 is no endgame
    played = Played(0, solved, [], None, None, 16, 0, 0.0, endgame,
                    np.where(endgame > 0, 7, 0))
    assert played.endgame_results() == (8, won)
    campaign._grow_endgames(played)
    assert campaign.stats.endgame_k == k_after
    assert (campaign.stats.endgames_played, campaign.stats.endgames_won) == (8, won)
