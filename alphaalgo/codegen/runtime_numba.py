"""Run-time of the generated Numba kernels: strided blocks, BLAS gemm, fused block sums.

A generated kernel (see :mod:`alphaalgo.codegen.numba_gen`) is Python that calls
these pieces; the text of this module is also inlined into standalone kernel
modules, so it imports nothing from ``alphaalgo``.

Matrices travel as :class:`Mat`: a 1-D C-contiguous buffer, an element offset, a
leading dimension (row stride in elements) and ``rows × cols``.  Blocks of a
matrix are ``Mat`` views of the same buffer (no copies), so BLAS works on them
in place through its ``ld`` arguments and the Numba passes index them with plain
1-D arithmetic that LLVM vectorises.

Threads: a level runs in phases — the operand sums (one fused pass over A's
blocks and one over B's), the products, then one fused pass adding the
buffered products into C's blocks.  Everything runs on one pool of the
kernel's own Python threads (as many as the BLAS has threads): the passes in
row bands, the products as tasks with one BLAS thread each (see ``TASKS``).
Idle threads block instead of spinning, so no thread pool takes a core from
the work of another.
"""

from __future__ import annotations

import ctypes
import glob
import os
import threading
from concurrent.futures import ThreadPoolExecutor

import numba
import numpy as np

_LOCAL = threading.local()  # in_task: this thread runs one product of a task batch

# ------------------------------------------------------------------ matrices


class Mat:
    """A strided matrix: ``buf[off + x*ld + y]`` for ``x < rows``, ``y < cols``.

    Attributes:
      buf: 1-D C-contiguous float array holding the matrix (and maybe more).
      off: element offset of entry ``(0, 0)``.  ld: row stride in elements.
      rows, cols: the matrix's shape.
    """

    __slots__ = ("buf", "off", "ld", "rows", "cols")

    def __init__(self, buf: np.ndarray, off: int, ld: int, rows: int, cols: int) -> None:
        self.buf, self.off, self.ld, self.rows, self.cols = buf, off, ld, rows, cols

    @staticmethod
    def of(x: np.ndarray) -> "Mat":
        """A C-contiguous 2-D array ``(rows, cols)`` as a ``Mat`` (no copy)."""
        if x.ndim != 2 or not x.flags.c_contiguous:
            raise ValueError("Mat.of needs a C-contiguous 2-D array")
        return Mat(x.reshape(-1), 0, x.shape[1], x.shape[0], x.shape[1])

    def sub(self, r0: int, c0: int, rows: int, cols: int) -> "Mat":
        """The ``rows × cols`` sub-matrix starting at ``(r0, c0)`` (a view)."""
        return Mat(self.buf, self.off + r0 * self.ld + c0, self.ld, rows, cols)

    def block(self, i: int, j: int, bm: int, bn: int) -> "Mat":
        """Block ``(i, j)`` of size ``bm × bn``."""
        return self.sub(i * bm, j * bn, bm, bn)

    def array(self) -> np.ndarray:
        """A 2-D numpy view ``(rows, cols)`` of the same memory."""
        item = self.buf.itemsize
        return np.lib.stride_tricks.as_strided(
            self.buf[self.off:], shape=(self.rows, self.cols), strides=(self.ld * item, item),
            writeable=True)


# ---------------------------------------------------------------------- BLAS
_CBLAS: dict = {}


def _load_cblas() -> dict:
    """Find ``cblas_?gemm`` in the BLAS numpy itself uses (OpenBLAS wheels).

    Returns ``{"float64": fn, "float32": fn, "int": ctypes int type}`` or ``{}``
    when no usable library is found (then :func:`gemm` goes through numpy).
    """
    if _CBLAS:
        return _CBLAS
    if os.environ.get("ALPHAALGO_NO_CBLAS"):
        _CBLAS["none"] = True
        return _CBLAS
    libdirs = [os.path.join(os.path.dirname(np.__file__), "..", "numpy.libs"),
               os.path.join(os.path.dirname(np.__file__), ".libs")]
    names = [("scipy_cblas_dgemm64_", "scipy_cblas_sgemm64_", ctypes.c_int64),
             ("cblas_dgemm64_", "cblas_sgemm64_", ctypes.c_int64),
             ("cblas_dgemm", "cblas_sgemm", ctypes.c_int)]
    for d in libdirs:
        for path in sorted(glob.glob(os.path.join(d, "*blas*.so*"))):
            try:
                lib = ctypes.CDLL(path)
            except OSError:
                continue
            for dname, sname, itype in names:
                if hasattr(lib, dname) and hasattr(lib, sname):
                    fns = {}
                    for key, name, ftype in (("float64", dname, ctypes.c_double),
                                             ("float32", sname, ctypes.c_float)):
                        fn = getattr(lib, name)
                        fn.restype = None
                        fn.argtypes = [itype, itype, itype, itype, itype, itype, ftype,
                                       ctypes.c_void_p, itype, ctypes.c_void_p, itype, ftype,
                                       ctypes.c_void_p, itype]
                        fns[key] = fn
                    _CBLAS.update(fns, path=path)
                    for get, put in (("scipy_openblas_get_num_threads64_",
                                      "scipy_openblas_set_num_threads64_"),
                                     ("openblas_get_num_threads", "openblas_set_num_threads")):
                        if hasattr(lib, get) and hasattr(lib, put):
                            getter, setter = getattr(lib, get), getattr(lib, put)
                            getter.restype, getter.argtypes = ctypes.c_int, []
                            setter.restype, setter.argtypes = None, [ctypes.c_int]
                            _CBLAS.update(get_threads=getter, set_threads=setter)
                            break
                    return _CBLAS
    _CBLAS["none"] = True
    return _CBLAS


def blas_library() -> str:
    """Path of the BLAS the kernels call directly, or ``"numpy.matmul"``."""
    lib = _load_cblas()
    return lib.get("path", "numpy.matmul")


def gemm(alpha: float, a: Mat, b: Mat, beta: float, c: Mat) -> None:
    """``c = alpha·a@b + beta·c`` in place; a ``(M, K)``, b ``(K, N)``, c ``(M, N)``.

    Through ``cblas_?gemm`` on the strided blocks when numpy's BLAS exposes it,
    else through ``numpy.matmul`` and a fused Numba update.
    """
    if c.rows == 0 or c.cols == 0:
        return
    if a.cols == 0:
        if beta == 0.0:
            _fill_zero(c.buf, c.off, c.ld, c.rows, c.cols)
        return
    lib = _load_cblas()
    key = c.buf.dtype.name
    fn = lib.get(key)
    if fn is not None:
        item = c.buf.itemsize
        fn(101, 111, 111, c.rows, c.cols, a.cols, alpha,
           a.buf.ctypes.data + a.off * item, a.ld, b.buf.ctypes.data + b.off * item, b.ld,
           beta, c.buf.ctypes.data + c.off * item, c.ld)
        return
    prod = np.ascontiguousarray(a.array()) @ np.ascontiguousarray(b.array())
    _axpby(c.buf, c.off, c.ld, prod.reshape(-1), 0, prod.shape[1], c.rows, c.cols,
           float(alpha), float(beta))


# --------------------------------------------------------------- Numba passes
# The block passes are serial, ``nogil`` Numba kernels over a range of rows; a
# large pass is cut into one row band per thread of the kernel's own thread
# pool (:func:`_pool`), the threads that also run the products as tasks.  No
# OpenMP pool is involved: Numba's spins after every parallel region, and the
# gemm that followed the operand sums ran 10–20 % slower for it (measured: see
# benchmarks/RESULTS.md).
PARALLEL_MIN = 1 << 20  # elements a pass writes from which it is cut into row bands
TILE = 2048  # columns per tile of a pass: the rows of one tile stay in the L1/L2 cache


@numba.njit(nogil=True, cache=True)
def _fill_zero_rows(dst, doff, dld, cols, x0, x1):  # pragma: no cover - compiled
    for x in range(x0, x1):
        base = doff + x * dld
        for y in range(cols):
            dst[base + y] = 0


@numba.njit(nogil=True, cache=True)
def _axpby_rows(dst, doff, dld, src, soff, sld, cols, alpha, beta, x0, x1):  # pragma: no cover
    for x in range(x0, x1):
        d = doff + x * dld
        s = soff + x * sld
        if beta == 0.0:
            for y in range(cols):
                dst[d + y] = alpha * src[s + y]
        else:
            for y in range(cols):
                dst[d + y] = alpha * src[s + y] + beta * dst[d + y]


@numba.njit(nogil=True, cache=True)
def _combine_rows(dst, doffs, dld, accumulate, src, soffs, sld, coefs, starts, cols,
                  x0, x1):  # pragma: no cover - compiled
    """Output o: ``dst_o (=|+=) Σ_t coefs[t]·src_t`` for t in ``starts[o]:starts[o+1]``,
    rows ``x0:x1``, all outputs in one pass (each source row is read from memory once)."""
    nout = doffs.shape[0]
    for x in range(x0, x1):
        for y0 in range(0, cols, TILE):
            y1 = min(cols, y0 + TILE)
            for o in range(nout):
                d = doffs[o] + x * dld
                t0 = starts[o]
                s = soffs[t0] + x * sld
                c = coefs[t0]
                if accumulate[o]:
                    for y in range(y0, y1):
                        dst[d + y] += c * src[s + y]
                else:
                    for y in range(y0, y1):
                        dst[d + y] = c * src[s + y]
                for t in range(t0 + 1, starts[o + 1]):
                    s = soffs[t] + x * sld
                    c = coefs[t]
                    for y in range(y0, y1):
                        dst[d + y] += c * src[s + y]


def _fill_zero(dst, doff, dld, rows, cols) -> None:
    _fill_zero_rows(dst, doff, dld, cols, 0, rows)


def _axpby(dst, doff, dld, src, soff, sld, rows, cols, alpha, beta) -> None:
    """dst = alpha·src + beta·dst over ``rows × cols`` (beta 0 never reads dst)."""
    _axpby_rows(dst, doff, dld, src, soff, sld, cols, alpha, beta, 0, rows)


def combine(dst: Mat, outputs: list, src: Mat, rows: int, cols: int) -> None:
    """One fused pass writing several ``rows × cols`` blocks of ``dst`` from blocks of ``src``.

    ``outputs = [(doff, accumulate, ((soff, coef), ...)), ...]``: the block at element
    offset ``doff`` of ``dst.buf`` (row stride ``dst.ld``) becomes (or, with
    ``accumulate``, gains) ``Σ coef·block at soff`` of ``src.buf`` (stride ``src.ld``).
    Every source row is read once for all the outputs; a large pass runs in row
    bands on the kernel's threads.
    """
    if not outputs or rows == 0 or cols == 0:
        return
    dt = dst.buf.dtype
    doffs = np.array([o[0] for o in outputs], np.int64)
    acc = np.array([bool(o[1]) for o in outputs], np.bool_)
    soffs = np.array([s for o in outputs for s, _ in o[2]], np.int64)
    coefs = np.array([c for o in outputs for _, c in o[2]], dt)
    starts = np.cumsum([0] + [len(o[2]) for o in outputs]).astype(np.int64)
    args = (dst.buf, doffs, dst.ld, acc, src.buf, soffs, src.ld, coefs, starts, cols)
    threads = _threads()
    if threads == 1 or rows * cols * len(outputs) < PARALLEL_MIN or rows < threads:
        _combine_rows(*args, 0, rows)
        return
    step = -(-rows // threads)
    futures = [_pool(threads).submit(_combine_rows, *args, x0, min(rows, x0 + step))
               for x0 in range(0, rows, step)]
    for fut in futures:
        fut.result()


# ----------------------------------------------------------------- workspace
_WORK: dict = {}


def workspace(tag: object, rows: int, cols: int, dtype: np.dtype) -> Mat:
    """A reusable contiguous ``rows × cols`` buffer named ``tag`` for this thread (kept between calls)."""
    key = (tag, threading.get_ident(), rows, cols, np.dtype(dtype).str)
    buf = _WORK.get(key)
    if buf is None:
        buf = np.empty(rows * cols, dtype)
        _WORK[key] = buf
    return Mat(buf, 0, cols, rows, cols)


def clear_workspace() -> None:
    """Free every cached buffer."""
    _WORK.clear()


# ------------------------------------------------------------ level driver
def run_level(level, depth: int, a: Mat, b: Mat, c: Mat, alpha: float, beta: float, inner) -> None:
    """``c = alpha·a@b + beta·c`` with one level of ``level``'s scheme.

    ``level`` has ``shape (n, m, p)``, ``leaf_min`` and ``core(a, b, c, bm, bk,
    bn, alpha, beta, inner, depth)`` which does the divisible part (``depth``
    tags its buffers, so one scheme at two depths never shares them).  Rows and columns
    left over when the sizes do not divide are peeled off and done by gemm (a
    thin update, a few rows or columns wide).  ``inner(a, b, c, alpha, beta)``
    does the products one level down (another level, or gemm at the leaves).
    """
    n, m, p = level.shape
    M, K, N = a.rows, a.cols, b.cols
    bm, bk, bn = M // n, K // m, N // p
    if min(bm, bk, bn) < level.leaf_min:
        gemm(alpha, a, b, beta, c)
        return
    M0, K0, N0 = bm * n, bk * m, bn * p
    level.core(a.sub(0, 0, M0, K0), b.sub(0, 0, K0, N0), c.sub(0, 0, M0, N0),
               bm, bk, bn, alpha, beta, inner, depth)
    if K0 < K:
        gemm(alpha, a.sub(0, K0, M0, K - K0), b.sub(K0, 0, K - K0, N0), 1.0,
             c.sub(0, 0, M0, N0))
    if N0 < N:
        gemm(alpha, a.sub(0, 0, M0, K), b.sub(0, N0, K, N - N0), beta, c.sub(0, N0, M0, N - N0))
    if M0 < M:
        gemm(alpha, a.sub(M0, 0, M - M0, K), b, beta, c.sub(M0, 0, M - M0, N))


# ------------------------------------------------------------ task parallelism
# The kernel's threads: as many as the BLAS has (else the CPUs), in one pool of
# Python threads that block (not spin) when idle.  They run the row bands of the
# block passes and, when TASKS is on and the BLAS lets us set its thread count,
# the products of a level as tasks: one BLAS thread per task, the leftover
# products (the batch size modulo the threads) cut into row bands.  Tasks need
# no synchronisation inside a product, so a busy machine (threads descheduled)
# costs far less than with a fork/join in every gemm.
TASKS = True
_POOL: dict = {}


def kernel_threads() -> int:
    """The kernel's threads: the BLAS's thread count, else the CPUs."""
    lib = _load_cblas()
    if "get_threads" in lib:
        return max(1, int(lib["get_threads"]()))
    return max(1, os.cpu_count() or 1)


def _threads() -> int:
    """Threads for the work of one level here (1 inside a task)."""
    return 1 if getattr(_LOCAL, "in_task", False) else kernel_threads()


def _pool(threads: int) -> ThreadPoolExecutor:
    pool = _POOL.get(threads)
    if pool is None:
        pool = _POOL[threads] = ThreadPoolExecutor(threads, thread_name_prefix="alphaalgo")
    return pool


def _task_threads() -> int:
    """Threads for task-parallel products here (1: one after another)."""
    if not TASKS or "set_threads" not in _load_cblas():
        return 1
    return _threads()


def _task(inner, job) -> None:
    _LOCAL.in_task = True
    try:
        sa, sb, target, alpha, beta = job
        inner(sa, sb, target, alpha, beta)
    finally:
        _LOCAL.in_task = False


def _run_jobs(jobs: list, inner, threads: int) -> None:
    """Run ``inner(sa, sb, target, alpha, beta)`` for every job; see TASKS above."""
    together = (len(jobs) // threads) * threads if threads > 1 else 0
    if threads > 1 and inner is leaf and together < len(jobs):
        # the leftover gemms are cut into row bands, one per thread: all work stays in tasks
        extra = []
        for sa, sb, target, alpha, beta in jobs[together:]:
            step = -(-sa.rows // threads)
            for r0 in range(0, sa.rows, step):
                rows = min(step, sa.rows - r0)
                extra.append((sa.sub(r0, 0, rows, sa.cols), sb,
                              target.sub(r0, 0, rows, target.cols), alpha, beta))
        jobs = jobs[:together] + extra
        together = len(jobs)
    if together:
        lib = _load_cblas()
        lib["set_threads"](1)
        try:
            for fut in [_pool(threads).submit(_task, inner, job) for job in jobs[:together]]:
                fut.result()
        finally:
            lib["set_threads"](threads)
    for job in jobs[together:]:
        inner(*job)


# Bytes of operand-sum and product buffers one batch of products may hold at once.
PHASE_BYTES = 2 << 30


def lone_block(terms: tuple) -> bool:
    """An operand that is one block with coefficient 1 (used in place, no pass)."""
    return len(terms) == 1 and terms[0][2] == 1.0


def _operands(src: Mat, sums: list, rows: int, cols: int, tag: object) -> list:
    """The operand ``Σ coef·src_block(i, j)`` of each ``terms = ((i, j, coef), ...)`` in ``sums``.

    A lone block is a view of ``src``; the others are blocks of one workspace,
    all written by one fused pass over ``src``.
    """
    need = sum(not lone_block(t) for t in sums)
    buf = workspace(tag, max(need, 1) * rows, cols, src.buf.dtype)
    out, outputs = [], []
    for terms in sums:
        if lone_block(terms):
            out.append(src.block(terms[0][0], terms[0][1], rows, cols))
            continue
        dst = buf.sub(len(outputs) * rows, 0, rows, cols)
        outputs.append((dst.off, False, tuple((src.off + i * rows * src.ld + j * cols, coef)
                                              for i, j, coef in terms)))
        out.append(dst)
    combine(buf, outputs, src, rows, cols)
    return out


def run_products(products: tuple, a: Mat, b: Mat, c: Mat, bm: int, bk: int, bn: int,
                 alpha: float, beta: float, inner, tag: object) -> None:
    """All products of one level, in phases: operand sums, products, the sum into C.

    ``products`` holds ``(a_terms, b_terms, c_terms)`` per product with
    ``a_terms = ((i, j, coef), ...)`` over A's blocks, ``b_terms`` over B's and
    ``c_terms = ((i, k, coef), ...)`` over C's.  Phase 1 forms every operand
    sum of a batch in one fused pass over A and one over B; phase 2 runs the
    products (a product that reaches one C block is written into it by gemm
    itself, with beta 0 or 1; the others into buffers); phase 3 adds the
    buffered products into their C blocks in one fused pass.  Products are
    taken in batches whose buffers fit in :data:`PHASE_BYTES`.  Whether a C
    block is assigned or accumulated is decided as the blocks are reached.
    """
    dt = c.buf.dtype
    item = dt.itemsize
    touched: set = set()
    start = 0
    while start < len(products):
        used, stop = 0, start
        while stop < len(products):
            pa, pb, pc = products[stop]
            cost = ((not lone_block(pa)) * bm * bk + (not lone_block(pb)) * bk * bn
                    + (len(pc) > 1) * bm * bn) * item
            if stop > start and used + cost > PHASE_BYTES:
                break
            used += cost
            stop += 1
        batch = products[start:stop]
        # phase 1: operand sums, one pass over A's blocks and one over B's
        sas = _operands(a, [pa for pa, _, _ in batch], bm, bk, (tag, "a"))
        sbs = _operands(b, [pb for _, pb, _ in batch], bk, bn, (tag, "b"))
        # phase 2: products (BLAS or the next level); single targets straight into C
        tasks = _task_threads() if len(batch) >= 2 else 1
        direct_now: set = set()
        targets = []  # (i, k, coef, beta) for a direct product, None for a buffered one
        for _, _, pc in batch:
            i, k, w = pc[0]
            # With tasks, two products never write one C block at once: the first
            # single-target product of a block in this batch writes it, others buffer.
            if len(pc) == 1 and (tasks == 1 or (i, k) not in direct_now):
                targets.append((i, k, w, 1.0 if (i, k) in touched or beta != 0.0 else 0.0))
                touched.add((i, k))
                direct_now.add((i, k))
            else:
                targets.append(None)
        nbuf = targets.count(None)
        pbuf = workspace((tag, "p"), max(nbuf, 1) * bm, bn, dt)
        jobs, gather, q = [], {}, 0
        for sa, sb, t, (_, _, pc) in zip(sas, sbs, targets, batch):
            if t is not None:
                i, k, w, bt = t
                jobs.append((sa, sb, c.block(i, k, bm, bn), alpha * w, bt))
                continue
            jobs.append((sa, sb, pbuf.sub(q * bm, 0, bm, bn), 1.0, 0.0))
            for i, k, w in pc:
                gather.setdefault((i, k), []).append((q * bm * bn, alpha * w))
            q += 1
        _run_jobs(jobs, inner, tasks)
        # phase 3: the buffered products into their C blocks, one pass
        outputs = [(c.off + i * bm * c.ld + k * bn, (i, k) in touched or beta != 0.0, tuple(terms))
                   for (i, k), terms in gather.items()]
        touched.update(gather)
        combine(c, outputs, pbuf, bm, bn)
        start = stop


def leaf(a: Mat, b: Mat, c: Mat, alpha: float, beta: float) -> None:
    """The products at the leaves: gemm."""
    gemm(alpha, a, b, beta, c)


def check_operands(a: np.ndarray, b: np.ndarray, out: np.ndarray | None
                   ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Validate ``a (M, K)``, ``b (K, N)`` and ``out (M, N)``; common float dtype, C order.

    Only real numbers are accepted: booleans and integers are computed in float64;
    complex, string, date/time and object arrays raise ``TypeError`` (a real kernel
    cannot compute them and a silent cast would lose their meaning).  ``out`` may
    not share memory with ``a`` or ``b`` (``ValueError``): the kernel writes ``out``
    while it still reads its inputs.
    """
    a = np.asarray(a)
    b = np.asarray(b)
    for name, x in (("a", a), ("b", b)):
        if x.dtype.kind not in "biuf":
            raise TypeError(f"matmul computes over the real numbers; {name} has dtype {x.dtype} "
                            f"(convert it, e.g. {name}.astype(np.float64), if that is meant)")
    if a.ndim != 2 or b.ndim != 2:
        raise ValueError(f"matmul needs 2-D arrays, got shapes {a.shape} and {b.shape}")
    if a.shape[1] != b.shape[0]:
        raise ValueError(f"inner sizes differ: {a.shape} @ {b.shape}")
    if out is not None and (np.may_share_memory(out, a) or np.may_share_memory(out, b)):
        raise ValueError("out shares memory with an input; pass a separate array")
    dtype = np.result_type(a.dtype, b.dtype)
    if dtype not in (np.float32, np.float64):
        dtype = np.dtype(np.float64)
    a = np.ascontiguousarray(a, dtype=dtype)
    b = np.ascontiguousarray(b, dtype=dtype)
    if out is None:
        out = np.empty((a.shape[0], b.shape[1]), dtype)
    elif (out.shape != (a.shape[0], b.shape[1]) or out.dtype != dtype
          or not out.flags.c_contiguous):
        raise ValueError(f"out must be a C-contiguous {dtype} array of shape "
                         f"{(a.shape[0], b.shape[1])}")
    return a, b, out


def finite(a: np.ndarray, b: np.ndarray) -> bool:
    """True when neither operand holds inf or NaN (a fast algorithm's sums would spread
    them to entries numpy leaves finite, so such inputs go to numpy.matmul)."""
    return bool(np.isfinite(a).all() and np.isfinite(b).all())
