"""A private two-node Ray cluster on this machine, for tests and measurements.

:func:`run_in_loopback_cluster` starts a head node and a worker node with
``ray start`` on 127.0.0.1, runs some shell commands against them and stops
exactly the processes it started.  When the machine allows it, everything runs
inside a fresh network namespace (``unshare -n``; only ``lo`` exists there),
so Ray cannot advertise any other address; otherwise it runs on 127.0.0.1 in
the host's namespace.  The cluster has its own port, temp dir and
authentication token (``RAY_AUTH_MODE=token``); at the end every process that
carries the token, lives in the namespace or holds the cluster's files open is
killed, so a cluster the user runs beside it is untouched.
"""

from __future__ import annotations

import json
import os
import secrets
import shlex
import shutil
import signal
import subprocess
import sys
from pathlib import Path
from typing import Sequence

RAY_PORT = 6380


def _ray_exe() -> str:
    exe = Path(sys.executable).parent / "ray"
    return str(exe) if exe.exists() else shutil.which("ray") or "ray"


def netns_available() -> bool:
    """Whether a private network namespace with loopback up can be made here."""
    if shutil.which("unshare") is None or shutil.which("ip") is None:
        return False
    r = subprocess.run(["unshare", "-n", "ip", "link", "set", "lo", "up"], capture_output=True)
    return r.returncode == 0


def _ours(pid: str, token: bytes, folder: str, netns: str | None) -> bool:
    """Whether process ``pid`` belongs to the cluster: it carries the token, lives in the
    cluster's network namespace, or holds a file under the cluster's folder open (Ray's
    agents drop the token from their environment)."""
    proc = Path("/proc", pid)
    if token in (proc / "environ").read_bytes().split(b"\0"):
        return True
    if netns is not None and os.readlink(proc / "ns" / "net") == netns:
        return True
    return any(os.readlink(fd).startswith(folder + os.sep) for fd in (proc / "fd").iterdir())


def _stop(token: str, folder: Path) -> None:
    """Kill every process of the cluster (see :func:`_ours`)."""
    needle = f"RAY_AUTH_TOKEN={token}".encode()
    ns_file = folder / "netns"
    netns = ns_file.read_text().strip() if ns_file.exists() else None
    if netns == os.readlink("/proc/self/ns/net"):
        netns = None
    for name in os.listdir("/proc"):
        if not name.isdigit() or int(name) == os.getpid():
            continue
        try:
            if _ours(name, needle, str(folder), netns):
                os.kill(int(name), signal.SIGKILL)
        except OSError:
            pass


def run_in_loopback_cluster(commands: Sequence[Sequence[str]], folder: str | os.PathLike, *,
                            head_cpus: int = 2, worker_cpus: int = 2,
                            worker_resources: dict[str, float] | None = None,
                            port: int = RAY_PORT, timeout: float = 900,
                            env: dict[str, str] | None = None) -> subprocess.CompletedProcess:
    """Start the cluster, run ``commands`` one after another, stop the cluster.

    Args:
      commands: argument lists; ``{address}`` in an argument becomes ``127.0.0.1:<port>``.
        Command ``i`` writes its stdout and stderr to ``folder/cmd<i>.txt`` and its
        exit status to ``folder/cmd<i>.rc``.
      folder: a short path (Ray's socket paths must stay under about 100 characters):
        the cluster's temp dir and the logs ``head.log``/``worker.log`` go there.
      worker_resources: custom resources of the worker node (e.g. ``{"bench_node": 1}``).
    Returns:
      The completed shell: return code 10/11 if the head/worker did not start.
    """
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    token = secrets.token_hex(32)
    ray = _ray_exe()
    netns = netns_available()
    address = f"127.0.0.1:{port}"
    lines = [
        "set -u",
        "ip link set lo up" if netns else "true",
        f"readlink /proc/self/ns/net > {shlex.quote(str(folder / 'netns'))}",
        f"{shlex.quote(ray)} start --head --node-ip-address=127.0.0.1 --port={port} "
        f"--num-cpus={head_cpus} --include-dashboard=false --object-store-memory=100000000 "
        f"--disable-usage-stats --temp-dir={shlex.quote(str(folder / 'ray'))} "
        f"> {shlex.quote(str(folder / 'head.log'))} 2>&1 || exit 10",
        f"{shlex.quote(ray)} start --address={address} --node-ip-address=127.0.0.1 "
        f"--num-cpus={worker_cpus} --resources={shlex.quote(json.dumps(worker_resources or {}))} "
        f"--object-store-memory=100000000 > {shlex.quote(str(folder / 'worker.log'))} 2>&1 || exit 11",
    ]
    for i, cmd in enumerate(commands):
        args = [a.replace("{address}", address) for a in cmd]
        out = shlex.quote(str(folder / f"cmd{i}.txt"))
        lines.append(f"{shlex.join(args)} > {out} 2>&1; echo $? > {shlex.quote(str(folder / f'cmd{i}.rc'))}")
    full_env = dict(os.environ if env is None else env, RAY_AUTH_MODE="token", RAY_AUTH_TOKEN=token,
                    RAY_USAGE_STATS_ENABLED="0",
                    RAY_worker_niceness="0")
    shell = ["unshare", "-n", "bash", "-c", "\n".join(lines)] if netns else ["bash", "-c", "\n".join(lines)]
    try:
        return subprocess.run(shell, env=full_env, timeout=timeout, capture_output=True, text=True)
    finally:
        _stop(token, folder)
