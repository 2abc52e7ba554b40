"""``discover --backend ray`` on a real two-node Ray cluster on this machine.

The cluster is a head node (``ray start --head``) and a worker node offering a
custom resource ``bench_node``, both on loopback: inside a fresh network
namespace (``unshare -n``, only ``lo``) when the machine allows it, so that Ray
cannot advertise any other address; on 127.0.0.1 otherwise.  The cluster is
private to the test: its own port, temp dir and auth token, and at the end
exactly the processes that carry that token are stopped.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import pytest

from alphaalgo import formats, tensors
from alphaalgo.loopback import run_in_loopback_cluster
from alphaalgo.presets import agents_dir
from alphaalgo.store import Store
from campaign_checks import assert_one_campaign_persisted

PARAMS = agents_dir() / "small-2x2x2-Z.npz"


@pytest.fixture
def folder():
    # Ray's socket paths must stay short: not pytest's long tmp_path.
    path = Path(tempfile.mkdtemp(prefix="aa-ray-", dir="/tmp"))
    yield path
    shutil.rmtree(path, ignore_errors=True)


def test_discover_on_a_two_node_cluster(folder):
    import ray  # noqa: F401  (the 'distributed' extra; make setup installs it)

    assert PARAMS.exists()
    store = folder / "c.db"
    discover = [sys.executable, "-c", "import sys; from alphaalgo.cli import main; sys.exit(main())",
                "discover", "--shape", "2,2,2", "--ring", "Z", "--params", str(PARAMS),
                "--store", str(store), "--backend", "ray", "--ray-address", "{address}", "--quiet"]
    env = dict(os.environ, PYTHONPATH=os.pathsep.join([str(Path(__file__).resolve().parent.parent),
                                                       os.environ.get("PYTHONPATH", "")]))
    proc = run_in_loopback_cluster([
        # Two self-play actors, local search, and benchmarks placed on the bench_node resource.
        discover + ["--time-limit", "60", "--actors", "2", "--speed-weight", "0.1",
                    "--bench-on", "resource:bench_node", "--bench-size", "128"],
        # Asking for a resource no node offers is bad input.
        discover + ["--time-limit", "5", "--bench-on", "resource:tpu-v9"],
        # The campaign goes on from its checkpoint.
        discover + ["--time-limit", "10", "--actors", "1", "--resume"],
        # improve's walkers as tasks spread over the nodes (a flip budget: all four finish).
        [sys.executable, "-c", "import sys; from alphaalgo.cli import main; sys.exit(main())",
         "improve", "--shape", "3,3,3", "--ring", "Z2", "--max-flips", "3000000", "--workers",
         "4", "--backend", "ray", "--ray-address", "{address}", "--quiet", "--out",
         str(folder / "s333.json")],
    ], folder, worker_resources={"bench_node": 1}, timeout=1500, env=env)  # a safety net only
    logs = {p.name: p.read_text(errors="replace")[-3000:] for p in folder.glob("*.txt")}
    logs.update({p.name: p.read_text(errors="replace")[-2000:] for p in folder.glob("*.log")})
    assert proc.returncode == 0, (proc.returncode, proc.stderr[-2000:], logs)
    out = logs["cmd0.txt"]
    assert (folder / "cmd0.rc").read_text().strip() == "0", out

    # Two nodes; the two self-play actors were spread over both.
    assert "ray: 2 node(s), 4 CPUs" in out, out
    placed = next(line for line in out.splitlines() if line.startswith("ray work done:"))
    selfplay = placed.split("self-play on ")[1].split(";")[0]
    assert len(selfplay.split(",")) == 2, placed

    with Store(store, readonly=True) as s:
        assert s.integrity_check() == "ok"
        camp, _ = assert_one_campaign_persisted(s, "ray")
        # Benchmarks ran on the node that offers bench_node, and are stored with it.
        rows = s.benchmarks()
        assert rows, out
        for row in rows:
            assert "bench_node" in row["result"]["device"]["ray_node_resources"], row["result"]["device"]
            assert row["result"]["max_rel_error"] < 1e-10
    resumed = logs["cmd2.txt"]
    assert (folder / "cmd2.rc").read_text().strip() == "0", resumed
    walked = logs["cmd3.txt"]
    assert (folder / "cmd3.rc").read_text().strip() == "0", walked
    ran_on = next(line for line in walked.splitlines() if line.startswith("ray walkers ran on:"))
    assert len(ran_on.split(":", 1)[1].split(",")) == 2, ran_on  # both nodes walked
    rec = formats.read_scheme(folder / "s333.json")
    assert tensors.verify(rec.scheme, "Z2").valid and "--backend ray" in rec.provenance["command"]
    assert f"resumed campaign {camp['id']} from step" in resumed, resumed
    with Store(store, readonly=True) as s:
        assert len(s.campaigns()) == 1 and s.integrity_check() == "ok"
        assert s.latest_checkpoint(camp["id"])[0] > 0
    bad = logs["cmd1.txt"]
    assert (folder / "cmd1.rc").read_text().strip() == "2", bad
    assert "tpu-v9" in bad.strip().splitlines()[-1] and "Traceback" not in bad


def test_local_backend_needs_no_ray(tmp_path):
    """Without Ray the local backend imports and runs its CLI checks; --backend ray is a clear error."""
    code = (
        "import sys; sys.modules['ray'] = None\n"
        "import alphaalgo.campaign, alphaalgo.cli.discover\n"
        "from alphaalgo.cli import main\n"
        f"sys.exit(main(['discover', '--shape', '2,2,2', '--backend', 'ray', '--store', {str(tmp_path / 's.db')!r}]))\n")
    r = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert r.returncode == 2, r.stderr
    lines = r.stderr.strip().splitlines()
    assert len(lines) == 1 and "Ray" in lines[0], r.stderr
    assert not (tmp_path / "s.db").exists()


def test_ray_options_need_the_ray_backend(tmp_path, capsys):
    from alphaalgo.cli import main

    code = main(["discover", "--shape", "2,2,2", "--actors", "3", "--store", str(tmp_path / "s.db")])
    assert code == 2
    assert "--actors: only with --backend ray" in capsys.readouterr().err
    assert not (tmp_path / "s.db").exists()


def test_an_unreachable_cluster_is_bad_input(tmp_path, capsys):
    """No Ray is listening at the address: one line, exit 2, no store, and no long wait."""
    from alphaalgo.cli import main

    t = time.monotonic()
    code = main(["discover", "--shape", "2,2,2", "--backend", "ray", "--ray-address", "127.0.0.1:9",
                 "--store", str(tmp_path / "s.db"), "--quiet"])
    err = capsys.readouterr().err.strip().splitlines()
    assert code == 2 and len(err) == 1 and "cannot reach a Ray cluster at 127.0.0.1:9" in err[0]
    assert not (tmp_path / "s.db").exists() and time.monotonic() - t < 30


def test_ray_is_told_this_nodes_address_and_probes_no_public_one(monkeypatch):
    """Left alone, Ray finds its node address by opening a socket towards a public
    address; the driver names it instead: loopback for a local or loopback cluster,
    else the address of the route towards the cluster's head (no packet is sent)."""
    import socket

    pytest.importorskip("ray")
    from alphaalgo.distributed import _node_ip_towards

    connected: list = []

    class Recording(socket.socket):
        def connect(self, address):            # recorded, never made
            connected.append(address)
            raise OSError("the test makes no connection")

    monkeypatch.setattr(socket, "socket", Recording)
    for address in (None, "auto", "127.0.0.1:6379", "localhost:6379"):
        assert _node_ip_towards(address) == "127.0.0.1"
    assert connected == []
    assert _node_ip_towards("10.11.12.13:6379") == "127.0.0.1"   # the fallback, here
    assert [a[0] for a in connected] == ["10.11.12.13"]           # the head's route, not a public one
