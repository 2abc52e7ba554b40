"""Fast matrix-multiplication kernels exported by alphaalgo.

``matmul(a, b)`` multiplies two 2-D arrays with the fastest kernel measured on
this device for the array's dtype and sizes, and with the vendor matmul
(``numpy.matmul``, or ``jnp.matmul`` for JAX arrays) below the measured
crossover size or where nothing was measured.  ``KERNELS`` lists the kernels
(each verified exactly before it was written), ``TABLE`` the measurements the
dispatch uses; ``kernel(name).matmul(a, b)`` calls one kernel directly.
"""

from __future__ import annotations

import importlib
import types

import numpy as np

from ._device import cpu_key, jax_key
from ._dispatch import KERNELS, TABLE

__all__ = ["KERNELS", "TABLE", "device", "kernel", "matmul", "select"]


def kernel(name: str) -> types.ModuleType:
    """The kernel module ``name`` (a key of ``KERNELS``); its ``matmul(a, b)`` is the kernel."""
    if name not in KERNELS:
        raise KeyError(f"no kernel {name!r}; have {', '.join(sorted(KERNELS))}")
    return importlib.import_module(f"{__name__}.kernels.{KERNELS[name]['module']}")


def _is_jax(x) -> bool:
    return type(x).__module__.startswith("jax")


def device(backend: str = "numba") -> str:
    """This machine's device key for ``backend`` (``numba`` or ``jax``)."""
    if backend == "jax":
        import jax

        return jax_key(jax.default_backend(), jax.devices()[0].device_kind)
    return cpu_key()


def select(size: tuple[int, int, int], dtype: str, backend: str = "numba",
           device_key: str | None = None) -> str | None:
    """The kernel to use for an ``(M, K, N)`` product, or ``None`` for the vendor matmul.

    Among the measurements of ``TABLE`` on this device, backend and dtype whose
    crossover ``min_size`` is at most ``min(M, K, N)``, the fastest; ``None``
    when there is none.
    """
    dev = device_key or device(backend)
    small = min(size)
    rows = [r for r in TABLE if r["device"] == dev and r["backend"] == backend
            and r["dtype"] == dtype and r["min_size"] <= small]
    if not rows:
        return None
    return max(rows, key=lambda r: r["speedup"])["kernel"]


def matmul(a, b):
    """``a @ b`` for 2-D arrays: the fastest measured kernel, else the vendor matmul."""
    if _is_jax(a) or _is_jax(b):
        import jax.numpy as jnp

        name = select((a.shape[0], a.shape[1], b.shape[1]), str(jnp.result_type(a, b)), "jax")
        if name is None:
            import jax

            return jnp.matmul(a, b, precision=jax.lax.Precision.HIGHEST)
        return kernel(name).matmul(a, b)
    a = np.asarray(a)
    b = np.asarray(b)
    if a.ndim != 2 or b.ndim != 2:
        return np.matmul(a, b)
    dtype = np.result_type(a, b)
    name = None
    if dtype in (np.float32, np.float64):
        name = select((a.shape[0], a.shape[1], b.shape[1]), dtype.name, "numba")
    if name is None:
        return np.matmul(a, b)
    return kernel(name).matmul(a, b)
