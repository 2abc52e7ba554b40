"""Run-time of the generated Numba kernels: strided blocks, BLAS gemm, fused block sums.

A generated kernel (see :mod:`alphaalgo.codegen.numba_gen`) is Python that calls
these pieces; the text of this module is also inlined into standalone kernel
modules, so it imports nothing from ``alphaalgo``.

Matrices travel as :class:`Mat`: a 1-D C-contiguous buffer, an element offset, a
leading dimension (row stride in elements) and ``rows × cols``.  Blocks of a
matrix are ``Mat`` views of the same buffer (no copies), so BLAS works on them
in place through its ``ld`` arguments and the Numba passes index them with plain
1-D arithmetic that LLVM vectorises.

Threads: a level runs in phases — every operand sum (Numba ``prange`` passes,
the BLAS idle), then every product, then the scatters — so Numba's and the
BLAS's thread pools hand over a few times per level instead of at every
product.  The products of a phase run as tasks where the BLAS lets us set its
thread count: one BLAS thread per task, as many tasks at once as the BLAS had
threads (see ``TASKS``), so no pool spins while the other works.
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
# Each pass is a serial kernel over a range of rows; the parallel form splits
# the rows into one chunk per Numba thread.  Small blocks run serially: a
# parallel region costs a fork/join that is dear on a busy machine.
PARALLEL_MIN = 1 << 20  # elements of a block from which the passes go parallel


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
def _lincomb_rows(dst, doff, dld, src, soffs, sld, coefs, cols, x0, x1):  # pragma: no cover
    nt = coefs.shape[0]
    for x in range(x0, x1):
        d = doff + x * dld
        s0 = soffs[0] + x * sld
        c0 = coefs[0]
        for y in range(cols):
            dst[d + y] = c0 * src[s0 + y]
        for t in range(1, nt):
            s = soffs[t] + x * sld
            c = coefs[t]
            for y in range(cols):
                dst[d + y] += c * src[s + y]


@numba.njit(nogil=True, cache=True)
def _scatter_rows(dst, doffs, dld, coefs, assign, src, soff, sld, cols, x0, x1):  # pragma: no cover
    nt = coefs.shape[0]
    for x in range(x0, x1):
        s = soff + x * sld
        for t in range(nt):
            d = doffs[t] + x * dld
            c = coefs[t]
            if assign[t]:
                for y in range(cols):
                    dst[d + y] = c * src[s + y]
            else:
                for y in range(cols):
                    dst[d + y] += c * src[s + y]


@numba.njit(parallel=True, nogil=True)  # not cached: Numba cannot cache these
def _lincomb_par(dst, doff, dld, src, soffs, sld, coefs, rows, cols):  # pragma: no cover
    chunks = numba.get_num_threads()
    step = (rows + chunks - 1) // chunks
    for t in numba.prange(chunks):
        _lincomb_rows(dst, doff, dld, src, soffs, sld, coefs, cols, t * step,
                      min(rows, (t + 1) * step))


@numba.njit(parallel=True, nogil=True)  # not cached: Numba cannot cache these
def _scatter_par(dst, doffs, dld, coefs, assign, src, soff, sld, rows, cols):  # pragma: no cover
    chunks = numba.get_num_threads()
    step = (rows + chunks - 1) // chunks
    for t in numba.prange(chunks):
        _scatter_rows(dst, doffs, dld, coefs, assign, src, soff, sld, cols, t * step,
                      min(rows, (t + 1) * step))


def _parallel(rows: int, cols: int) -> bool:
    return (rows * cols >= PARALLEL_MIN and numba.get_num_threads() > 1
            and not getattr(_LOCAL, "in_task", False))


def _fill_zero(dst, doff, dld, rows, cols) -> None:
    _fill_zero_rows(dst, doff, dld, cols, 0, rows)


def _axpby(dst, doff, dld, src, soff, sld, rows, cols, alpha, beta) -> None:
    """dst = alpha·src + beta·dst over ``rows × cols`` (beta 0 never reads dst)."""
    _axpby_rows(dst, doff, dld, src, soff, sld, cols, alpha, beta, 0, rows)


def _lincomb(dst, doff, dld, src, soffs, sld, coefs, rows, cols) -> None:
    """dst[x, y] = Σ_t coefs[t]·src[soffs[t] + x·sld + y]: one pass, all terms fused."""
    if _parallel(rows, cols):
        _lincomb_par(dst, doff, dld, src, soffs, sld, coefs, rows, cols)
    else:
        _lincomb_rows(dst, doff, dld, src, soffs, sld, coefs, cols, 0, rows)


def _scatter(dst, doffs, dld, coefs, assign, src, soff, sld, rows, cols) -> None:
    """For every t: dst_t (=|+=) coefs[t]·src, one pass over src for all targets."""
    if _parallel(rows, cols):
        _scatter_par(dst, doffs, dld, coefs, assign, src, soff, sld, rows, cols)
    else:
        _scatter_rows(dst, doffs, dld, coefs, assign, src, soff, sld, cols, 0, rows)


def lincomb(dst: Mat, src: Mat, terms: tuple, bm: int, bn: int) -> Mat:
    """The block sum ``Σ coef·src_block(i, j)`` for ``terms = ((i, j, coef), ...)``.

    A single term with coefficient 1 is returned as a view of ``src`` (no pass);
    otherwise the sum is written into ``dst`` (``bm × bn``) in one fused pass.
    """
    if len(terms) == 1 and terms[0][2] == 1.0:
        i, j, _ = terms[0]
        return src.block(i, j, bm, bn)
    offs = np.array([src.off + i * bm * src.ld + j * bn for i, j, _ in terms], np.int64)
    coefs = np.array([c for _, _, c in terms], dst.buf.dtype)
    _lincomb(dst.buf, dst.off, dst.ld, src.buf, offs, src.ld, coefs, bm, bn)
    return dst


def scatter(c: Mat, terms: tuple, prod: Mat, bm: int, bn: int, alpha: float,
            beta: float) -> None:
    """``C_block(i, k) (=|+=) alpha·coef·prod`` for ``terms = ((i, k, coef, first), ...)``.

    A term assigns when it is the first to reach its block and ``beta == 0``.
    """
    offs = np.array([c.off + i * bm * c.ld + k * bn for i, k, _, _ in terms], np.int64)
    coefs = np.array([alpha * w for _, _, w, _ in terms], c.buf.dtype)
    assign = np.array([bool(f) and beta == 0.0 for _, _, _, f in terms], np.bool_)
    _scatter(c.buf, offs, c.ld, coefs, assign, prod.buf, prod.off, prod.ld, bm, bn)


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
# Products of a level are independent.  When the BLAS lets us set its thread
# count, a batch of products runs as tasks: one BLAS thread per task, the tasks
# on as many Python threads as the BLAS had threads, and the few products left
# over (the batch size modulo the threads) afterwards with every BLAS thread.
# Tasks need no synchronisation inside a product, so a busy machine (threads
# descheduled) costs far less than with a fork/join in every gemm.
TASKS = True
_POOL: dict = {}


def _task_threads() -> int:
    """Threads for task-parallel products here (1: run them one after another)."""
    if not TASKS or getattr(_LOCAL, "in_task", False):
        return 1
    lib = _load_cblas()
    if "set_threads" not in lib:
        return 1
    return max(1, int(lib["get_threads"]()))


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
        pool = _POOL.get(threads)
        if pool is None:
            pool = _POOL[threads] = ThreadPoolExecutor(threads, thread_name_prefix="alphaalgo-task")
        lib["set_threads"](1)
        try:
            for fut in [pool.submit(_task, inner, job) for job in jobs[:together]]:
                fut.result()
        finally:
            lib["set_threads"](threads)
    for job in jobs[together:]:
        inner(*job)


# Bytes of operand-sum and product buffers one batch of products may hold at once.
PHASE_BYTES = 2 << 30


def run_products(products: tuple, a: Mat, b: Mat, c: Mat, bm: int, bk: int, bn: int,
                 alpha: float, beta: float, inner, tag: object) -> None:
    """All products of one level, in phases: every operand sum, then every product, then scatters.

    ``products`` holds ``(a_terms, b_terms, c_terms)`` per product with
    ``a_terms = ((i, j, coef), ...)`` over A's blocks, ``b_terms`` over B's and
    ``c_terms = ((i, k, coef), ...)`` over C's.  Grouping the Numba passes and
    the BLAS calls into phases means the two thread pools hand over a few times
    per level instead of at every product (each pool spins a while after its
    work; interleaved, they would compete).  Products are taken in batches
    whose buffers fit in :data:`PHASE_BYTES`.  Whether a C block is assigned
    or accumulated is decided as the blocks are reached.
    """
    dt = c.buf.dtype
    item = dt.itemsize
    touched: set = set()

    def needs(terms) -> bool:
        return not (len(terms) == 1 and terms[0][2] == 1.0)

    start = 0
    while start < len(products):
        used, stop = 0, start
        while stop < len(products):
            pa, pb, pc = products[stop]
            cost = (needs(pa) * bm * bk + needs(pb) * bk * bn + (len(pc) > 1) * bm * bn) * item
            if stop > start and used + cost > PHASE_BYTES:
                break
            used += cost
            stop += 1
        batch = range(start, stop)
        # phase 1: operand sums (Numba)
        ops = []
        for r in batch:
            pa, pb, _ = products[r]
            sa = lincomb(workspace((tag, "a", r - start), bm, bk, dt), a, pa, bm, bk)
            sb = lincomb(workspace((tag, "b", r - start), bk, bn, dt), b, pb, bk, bn)
            ops.append((sa, sb))
        # phase 2: products (BLAS or the next level); single targets straight into C
        pending = []
        jobs = []  # (sa, sb, target, alpha, beta)
        direct_now: set = set()
        tasks = _task_threads() if len(batch) >= 2 else 1
        for (sa, sb), r in zip(ops, batch):
            pc = products[r][2]
            i, k, w = pc[0]
            # With tasks, two products never write one C block at once: the first
            # single-target product of a block in this batch writes it, others buffer.
            if len(pc) == 1 and (tasks == 1 or (i, k) not in direct_now):
                first = (i, k) not in touched and beta == 0.0
                touched.add((i, k))
                direct_now.add((i, k))
                jobs.append((sa, sb, c.block(i, k, bm, bn), alpha * w, 0.0 if first else 1.0))
            else:
                pbuf = workspace((tag, "p", r - start), bm, bn, dt)
                jobs.append((sa, sb, pbuf, 1.0, 0.0))
                pending.append((pc, pbuf))
        _run_jobs(jobs, inner, tasks)
        # phase 3: scatters of the products that reach several blocks (Numba)
        for pc, pbuf in pending:
            terms = []
            for i, k, w in pc:
                terms.append((i, k, w, (i, k) not in touched))
                touched.add((i, k))
            scatter(c, tuple(terms), pbuf, bm, bn, alpha, beta)
        start = stop


def leaf(a: Mat, b: Mat, c: Mat, alpha: float, beta: float) -> None:
    """The products at the leaves: gemm."""
    gemm(alpha, a, b, beta, c)


def check_operands(a: np.ndarray, b: np.ndarray, out: np.ndarray | None
                   ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Validate ``a (M, K)``, ``b (K, N)`` and ``out (M, N)``; common float dtype, C order."""
    a = np.asarray(a)
    b = np.asarray(b)
    if a.ndim != 2 or b.ndim != 2:
        raise ValueError(f"matmul needs 2-D arrays, got shapes {a.shape} and {b.shape}")
    if a.shape[1] != b.shape[0]:
        raise ValueError(f"inner sizes differ: {a.shape} @ {b.shape}")
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
