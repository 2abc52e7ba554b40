"""The device a kernel runs on, named the same way by alphaalgo and by exported packages."""

from __future__ import annotations

import os
import platform


def cpu_model() -> str:
    """The CPU's model name from ``/proc/cpuinfo`` (else ``platform.processor()``)."""
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as fh:
            for line in fh:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def cpu_key() -> str:
    """``cpu:<model> x<cores>``: the key of measurements on this CPU."""
    return f"cpu:{cpu_model()} x{os.cpu_count()}"


def jax_key(backend: str, device_kind: str) -> str:
    """``<backend>:<device kind>`` for accelerators; the CPU key on JAX's CPU backend."""
    return cpu_key() if backend == "cpu" else f"{backend}:{device_kind}"
