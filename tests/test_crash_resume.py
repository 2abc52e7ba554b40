"""A campaign killed with SIGKILL loses nothing and resumes from its checkpoint."""

from __future__ import annotations

import os
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path


from alphaalgo.store import Store


def _preset(folder: Path) -> Path:
    """The tiny agent, checkpointing every second (so a kill lands between checkpoints)."""
    from alphaalgo.presets import agents_dir

    text = (agents_dir() / "tiny.toml").read_text()
    assert "[replay]\n" in text
    path = folder / "tiny-often.toml"
    path.write_text(text.replace("[replay]\n", "[replay]\ncheckpoint_seconds = 1.0\n"))
    return path


def _discover(store: Path, *extra: str) -> list[str]:
    exe = Path(sys.executable).parent / "alphaalgo"
    cmd = [str(exe)] if exe.exists() else [sys.executable, "-m", "alphaalgo.cli"]
    return cmd + ["discover", "--shape", "2,2,2", "--agent", str(_preset(store.parent)),
                  "--store", str(store), "--seed", "5", "--quiet", *extra]


def _checkpoints(store: Path) -> list[tuple[int, str]]:
    if not store.exists():
        return []
    try:
        con = sqlite3.connect(f"file:{store}?mode=ro", uri=True, timeout=5)
        try:
            return con.execute("SELECT step, path FROM checkpoints ORDER BY step").fetchall()
        finally:
            con.close()
    except sqlite3.OperationalError:  # tables not created yet
        return []


def test_sigkill_then_resume(tmp_path):
    store = tmp_path / "campaign.sqlite"
    env = dict(os.environ)
    proc = subprocess.Popen(_discover(store, "--time-limit", "300"), env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    try:
        deadline = time.monotonic() + 240
        # Wait for the second checkpoint, so the kill lands in the middle of the run.
        while len(_checkpoints(store)) < 2 and time.monotonic() < deadline and proc.poll() is None:
            time.sleep(0.5)
        assert proc.poll() is None, proc.stdout.read()
        assert len(_checkpoints(store)) >= 2, "no checkpoint written in time"
        proc.send_signal(signal.SIGKILL)
        proc.wait(30)
    finally:
        if proc.poll() is None:
            proc.kill()
    with Store(store) as s:
        assert s.integrity_check() == "ok"
        cid = s.find_campaign([c["name"] for c in s.campaigns()][0])
        stored_before = {x.hash for x in s.list_schemes()}
        examples_before = s.count_examples(cid)
        step_before, _ = s.latest_checkpoint(cid)
    assert step_before > 0

    res = subprocess.run(_discover(store, "--time-limit", "40", "--resume"), env=env,
                         capture_output=True, text=True, timeout=300)
    out = res.stdout + res.stderr
    assert res.returncode in (0, 1), out
    assert f"resumed campaign {cid} from step {step_before}" in out
    with Store(store) as s:
        assert s.integrity_check() == "ok"
        assert len(s.campaigns()) == 1  # the same campaign went on
        assert stored_before <= {x.hash for x in s.list_schemes()}
        assert s.count_examples(cid) > examples_before  # it played on
        step_after, _ = s.latest_checkpoint(cid)
    assert step_after > step_before  # and trained on from the checkpoint, not from scratch


class _Stop(Exception):
    """Stands for a kill at the first progress report."""


def _tiny_spec(tmp_path: Path, **kw):
    from alphaalgo import presets
    from alphaalgo.campaign import CampaignSpec

    return CampaignSpec(shape=(2, 2, 2), ring="Z2", preset=presets.load_preset("tiny"),
                        store=str(tmp_path / "s.db"), seed=3, **kw)


def test_a_campaign_stopped_in_its_first_seconds_resumes_its_own_training(tmp_path):
    """Killed before any timed checkpoint, a campaign still resumes (its step-0
    checkpoint is written as soon as it is set up), not from nothing."""
    from alphaalgo.campaign import Campaign

    def stop(_stats):
        raise _Stop()

    try:
        Campaign(_tiny_spec(tmp_path, time_limit=120), report=stop, log=lambda m: None).run()
    except _Stop:
        pass
    logs: list[str] = []
    Campaign(_tiny_spec(tmp_path, time_limit=3, resume=True), log=logs.append).run()
    assert any(m.startswith("resumed campaign 1 from step") for m in logs), logs


def test_a_truncated_latest_checkpoint_falls_back_to_the_one_before(tmp_path):
    from alphaalgo.campaign import Campaign

    Campaign(_tiny_spec(tmp_path, time_limit=3), log=lambda m: None).run()
    Campaign(_tiny_spec(tmp_path, time_limit=3, resume=True), log=lambda m: None).run()
    with Store(tmp_path / "s.db") as s:
        found = s.checkpoints(1)
    assert len(found) >= 2 and found[0][0] > found[-1][0]
    (_, newest), (older_step, _) = found[0], found[1]
    data = Path(newest).read_bytes()
    Path(newest).write_bytes(data[: len(data) // 3])        # a kill mid-write, or a bad disk
    logs: list[str] = []
    Campaign(_tiny_spec(tmp_path, time_limit=3, resume=True), log=logs.append).run()
    assert any("skipping an unreadable checkpoint" in m and newest in m for m in logs), logs
    assert any(m.startswith(f"resumed campaign 1 from step {older_step} ") for m in logs), logs
