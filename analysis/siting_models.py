"""Facility-location models on sparse matrices: MCLP, LSCP, p-median and greedy with swaps.

The models know nothing about maps: they take a sparse *coverage* matrix (demand × site, true
where the site serves the demand within the threshold) or a sparse *cost* matrix (walking metres
for the pairs within a cutoff) and demand weights. :mod:`lifecircle.analysis.siting` builds these
matrices from a walking network with bounded shortest-path searches.

The interface follows spopt: one solver class per model with ``from_coverage`` /
``from_cost_matrix`` constructors and ``solve(time_limit=...)``, which returns a
:class:`SitingResult` with the chosen sites, the objective, the best bound, the optimality gap and
a status. Exact models are mixed-integer programmes built directly with the HiGHS API (highspy:
the constraint matrix is passed as CSR arrays); they honour a time limit and report the proven
gap.

Solving the MCLP
----------------
1. Greedy (one sparse product per site), best-improvement 1-swaps (all (chosen, candidate) pairs
   valued by one sparse product) and an iterated local search give a strong incumbent.
2. The LP relaxation is solved by HiGHS's interior-point method: on street-network instances it is
   often integral, and then optimality is proven without branching (the dual simplex that a MIP
   root uses is several times slower on these LPs). If it does not finish, a Lagrangian
   subgradient bound takes its place.
3. Otherwise a longer local search, LP reduced-cost fixing of candidates, and HiGHS
   branch-and-cut on the smaller model, warm-started with the incumbent.

Conventions
-----------
* ``p`` counts **new** sites. ``locked`` sites (existing facilities) are always open and do not
  count toward ``p`` (spopt counts its ``predefined_facilities_arr`` in ``p``).
* Demand that no site (locked or candidate) can reach is reported in
  :attr:`SitingResult.unreachable`; it cannot be covered, and the LSCP target is a share of the
  *reachable* demand, so the models always solve.
* Before the solver sees it, a model is reduced without changing its optimum: demand already
  served by a locked site is taken out (its weight is a constant), demand rows with the same
  coverage set are merged (weights summed), and candidates whose coverage set is contained in
  another's are dropped (MCLP/LSCP).

p-median cost model
-------------------
Each demand ``i`` is charged ``min(penalty, d(i, nearest open site))``; only pairs within
``cutoff`` are assignment variables. Demand with no open site within the cutoff is charged the
*penalty* distance (default ``2 × cutoff``, so serving demand always beats leaving it unserved)
and is reported as not served. A locked site closer than the penalty caps the charge of every
demand it reaches, so candidate pairs that are no closer than that cap are never built.
"""

from __future__ import annotations

import os
import sys
import time
from dataclasses import dataclass, field

import numpy as np
from scipy import sparse

__all__ = [
    "SitingResult",
    "MCLP",
    "LSCP",
    "PMedian",
    "Greedy",
    "marginal_gains",
    "coverage_from_costs",
]


# ----------------------------------------------------------------------------------- results
@dataclass
class SitingResult:
    """The answer of a siting model.

    Attributes
    ----------
    model : str
        ``mclp``, ``lscp``, ``pmedian``, ``greedy-mclp`` or ``greedy-pmedian``.
    sites : ndarray of int
        Chosen new sites (column indices of the input matrix), most valuable first where the
        model has an order (greedy order of marginal gain).
    locked : ndarray of int
        Sites that were open from the start.
    objective : float
        Covered weight (MCLP, greedy-mclp), number of new sites (LSCP) or total weighted
        distance (p-median, greedy-pmedian), for ``sites`` plus ``locked``.
    bound : float
        Best proven bound on the optimum (upper bound when maximising, lower when minimising).
        Heuristics report the submodularity bound ``f(S) + sum of the p largest marginal gains``.
    gap : float
        ``|bound - objective| / |objective|`` (0 when proven optimal within tolerance).
    status : str
        ``optimal``, ``time_limit`` (best solution found when time ran out), ``heuristic`` or
        ``infeasible``.
    runtime_s : float
        Wall time of :meth:`solve`, reductions and warm start included.
    covered : ndarray of bool or None
        Per demand row: served within the radius by an open site (coverage models).
    assignment : ndarray of int or None
        p-median: the open site serving each demand row (``-1``: none within the cutoff).
    cost : ndarray of float or None
        p-median: distance charged per demand row (the penalty where not served).
    unreachable : ndarray of int
        Demand rows that no site at all (locked or candidate) can reach.
    stats : dict
        Model size before/after reduction, nodes, target figures, ...
    """

    model: str
    sites: np.ndarray
    locked: np.ndarray
    objective: float
    bound: float
    gap: float
    status: str
    runtime_s: float
    covered: np.ndarray | None = None
    assignment: np.ndarray | None = None
    cost: np.ndarray | None = None
    unreachable: np.ndarray = field(default_factory=lambda: np.zeros(0, dtype=np.int64))
    stats: dict = field(default_factory=dict)

    @property
    def optimal(self) -> bool:
        """True when the solver proved optimality (within its gap tolerance)."""
        return self.status == "optimal"

    @property
    def open_sites(self) -> np.ndarray:
        """Locked and chosen sites together."""
        return np.concatenate([self.locked, self.sites]).astype(np.int64)

    def __repr__(self) -> str:
        return (
            f"SitingResult({self.model}, sites={self.sites.tolist()}, "
            f"objective={self.objective:.6g}, bound={self.bound:.6g}, gap={self.gap:.2e}, "
            f"status={self.status!r}, {self.runtime_s:.2f} s)"
        )


# ----------------------------------------------------------------------------------- helpers
def _rel_gap(objective: float, bound: float) -> float:
    diff = abs(bound - objective)
    if diff <= 1e-9 * max(1.0, abs(objective)):
        return 0.0
    return diff / max(abs(objective), 1e-12)


def _as_binary_csr(coverage) -> sparse.csr_matrix:
    """Coverage as CSR with 1.0 for every stored true entry, sorted indices, no duplicates."""
    if sparse.issparse(coverage):
        C = sparse.csr_matrix(coverage, copy=True)
        C.sum_duplicates()
        C.data = (C.data != 0).astype(float)
        C.eliminate_zeros()
    else:
        C = sparse.csr_matrix(np.asarray(coverage).astype(bool).astype(float))
    C.sort_indices()
    return C


def _as_pairs(costs, cutoff: float | None):
    """Allowed (demand, site, distance) pairs of a cost matrix.

    Sparse input: every stored entry is an allowed pair (store zero distances explicitly).
    Dense input: finite entries are allowed pairs. Pairs beyond ``cutoff`` are dropped.
    """
    if sparse.issparse(costs):
        coo = sparse.coo_matrix(costs)
        shape = coo.shape
        r, c, d = coo.row.astype(np.int64), coo.col.astype(np.int64), coo.data.astype(float)
        keep = np.isfinite(d)
    else:
        a = np.asarray(costs, dtype=float)
        if a.ndim != 2:
            raise ValueError("the cost matrix must be two-dimensional (demand × sites)")
        shape = a.shape
        keep_mask = np.isfinite(a)
        r, c = np.nonzero(keep_mask)
        d = a[r, c]
        keep = np.ones(len(d), dtype=bool)
    if cutoff is not None and np.isfinite(cutoff):
        keep &= d <= cutoff
    if np.any(d[keep] < 0):
        raise ValueError("the cost matrix has negative distances")
    r, c, d = r[keep], c[keep], d[keep]
    # keep the smallest distance of duplicated pairs
    order = np.lexsort((d, c, r))
    r, c, d = r[order], c[order], d[order]
    first = np.ones(len(r), dtype=bool)
    first[1:] = (r[1:] != r[:-1]) | (c[1:] != c[:-1])
    return shape, r[first], c[first], d[first]


def coverage_from_costs(costs, radius: float) -> sparse.csr_matrix:
    """Binary coverage (demand × sites) of the pairs with cost ``<= radius``."""
    shape, r, c, d = _as_pairs(costs, radius)
    return sparse.csr_matrix((np.ones(len(r)), (r, c)), shape=shape)


def _check_weights(weights, n: int) -> np.ndarray:
    w = np.ones(n) if weights is None else np.asarray(weights, dtype=float).ravel()
    if w.shape != (n,):
        raise ValueError(f"{len(w)} weights for {n} demand rows")
    if not np.all(np.isfinite(w)) or np.any(w < 0):
        raise ValueError("demand weights must be finite and non-negative")
    return w


def _check_locked(locked, n_sites: int) -> np.ndarray:
    if locked is None:
        return np.zeros(0, dtype=np.int64)
    arr = np.asarray(locked)
    if arr.dtype == bool:
        if arr.shape != (n_sites,):
            raise ValueError("a boolean locked mask needs one entry per site")
        arr = np.flatnonzero(arr)
    arr = np.unique(arr.astype(np.int64))
    if len(arr) and (arr[0] < 0 or arr[-1] >= n_sites):
        raise ValueError(f"locked site index out of range 0..{n_sites - 1}")
    return arr


def marginal_gains(coverage, weights, covered) -> np.ndarray:
    """Weight each site would newly cover: one sparse product ``C.T @ (w * ~covered)``.

    Parameters
    ----------
    coverage : sparse matrix (demand × sites), bool
    weights : array (demand,)
    covered : array of bool (demand,)
        Demand already served.
    """
    C = coverage if sparse.isspmatrix_csr(coverage) else sparse.csr_matrix(coverage)
    w = np.asarray(weights, dtype=float) * ~np.asarray(covered, dtype=bool)
    return np.asarray(C.T @ w).ravel()


def _row_groups(C: sparse.csr_matrix) -> tuple[np.ndarray, np.ndarray]:
    """Group rows with identical column sets (all rows must have at least one entry).

    Returns ``(representative_row_per_group, group_of_row)``. Rows are hashed with two random
    64-bit keys per column and the grouping is verified exactly.
    """
    n, m = C.shape
    if n == 0:
        return np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.int64)
    rng = np.random.default_rng(20240601)
    k1 = rng.integers(1, 2**63 - 1, size=m, dtype=np.int64).astype(np.uint64)
    k2 = rng.integers(1, 2**63 - 1, size=m, dtype=np.int64).astype(np.uint64)
    starts = C.indptr[:-1]
    with np.errstate(over="ignore"):
        h1 = np.add.reduceat(k1[C.indices], starts)
        h2 = np.add.reduceat(k2[C.indices], starts)
    nnz = np.diff(C.indptr).astype(np.uint64)
    keys = np.column_stack([h1, h2, nnz])
    _, rep, inverse = np.unique(keys, axis=0, return_index=True, return_inverse=True)
    inverse = inverse.ravel()
    check = C[rep[inverse]]
    if (check != C).nnz:  # a hash collision (probability ~1e-37): do not merge
        return np.arange(n), np.arange(n)
    return rep.astype(np.int64), inverse.astype(np.int64)


def _undominated(Cg: sparse.csr_matrix) -> np.ndarray:
    """Columns whose row set is not contained in another column's (ties: lowest index kept)."""
    m = Cg.shape[1]
    if m <= 1:
        return np.ones(m, dtype=bool)
    B = sparse.csc_matrix(Cg)
    size = np.diff(B.indptr)
    G = (B.T @ B).tocoo()
    j, k, inter = G.row, G.col, G.data
    dom = (j != k) & (np.rint(inter) == size[j]) & ((size[k] > size[j]) | (k < j))
    keep = np.ones(m, dtype=bool)
    keep[j[dom]] = False
    keep &= size > 0
    return keep


@dataclass
class _CoverReduction:
    """A coverage model reduced for the solver (see the module notes)."""

    C: sparse.csr_matrix  # original binary coverage
    w: np.ndarray
    locked: np.ndarray
    cols: np.ndarray  # original column of each reduced column
    Cg: sparse.csr_matrix  # groups × reduced columns
    Wg: np.ndarray  # weight per group
    const: float  # weight covered by locked sites
    covered_locked: np.ndarray  # bool per demand row
    unreachable: np.ndarray  # demand rows no site reaches
    reachable_weight: float
    stats: dict


def _reduce_cover(
    C: sparse.csr_matrix, w: np.ndarray, locked: np.ndarray, drop_dominated: bool = True
) -> _CoverReduction:
    n_d, n_c = C.shape
    reach = np.diff(C.indptr) > 0
    unreachable = np.flatnonzero(~reach)
    if len(locked):
        cov_locked = np.diff(C[:, locked].tocsr().indptr) > 0
    else:
        cov_locked = np.zeros(n_d, dtype=bool)
    free = np.ones(n_c, dtype=bool)
    free[locked] = False
    free_idx = np.flatnonzero(free)
    Cf = C[:, free_idx].tocsr()
    active = ~cov_locked & (w > 0) & (np.diff(Cf.indptr) > 0)
    Ca = Cf[np.flatnonzero(active)]
    useful = np.diff(Ca.tocsc().indptr) > 0
    Ca = Ca[:, np.flatnonzero(useful)].tocsr()
    cols = free_idx[useful]
    Ca.sort_indices()
    rep, inverse = _row_groups(Ca)
    Cg = Ca[rep].tocsr()
    Wg = np.bincount(inverse, weights=w[active], minlength=len(rep)) if len(rep) else np.zeros(0)
    n_cols_useful = len(cols)
    if drop_dominated and Cg.shape[1] > 1:
        keep = _undominated(Cg)
        Cg = Cg[:, np.flatnonzero(keep)].tocsr()
        cols = cols[keep]
    Cg.sort_indices()
    stats = {
        "demand_rows": n_d,
        "sites": n_c,
        "locked": len(locked),
        "unreachable_rows": len(unreachable),
        "unreachable_weight": float(w[~reach].sum()),
        "locked_covered_weight": float(w[cov_locked].sum()),
        "active_rows": int(active.sum()),
        "groups": Cg.shape[0],
        "useful_candidates": n_cols_useful,
        "model_candidates": Cg.shape[1],
    }
    return _CoverReduction(
        C,
        w,
        locked,
        cols,
        Cg,
        Wg,
        float(w[cov_locked].sum()),
        cov_locked,
        unreachable,
        float(w[reach].sum()),
        stats,
    )


def _covered_by(C: sparse.csr_matrix, cols: np.ndarray) -> np.ndarray:
    if len(cols) == 0:
        return np.zeros(C.shape[0], dtype=bool)
    return np.diff(C[:, np.asarray(cols, dtype=np.int64)].tocsr().indptr) > 0


# ------------------------------------------------------------------ greedy + swap, coverage
class _CoverSearch:
    """Greedy, 1-swap descent and iterated local search for maximum weighted coverage.

    Works on a reduced model (groups × candidates); column and row views are built once.
    """

    def __init__(self, Cg: sparse.csr_matrix, Wg: np.ndarray):
        self.Cg = Cg
        self.Wg = Wg
        self.CT = Cg.T.tocsr()
        self.Cc = Cg.tocsc()
        self.n_g, self.n_c = Cg.shape

    def rows(self, j: int) -> np.ndarray:
        return self.Cc.indices[self.Cc.indptr[j] : self.Cc.indptr[j + 1]]

    def covered(self, S) -> np.ndarray:
        cov = np.zeros(self.n_g, dtype=bool)
        for j in S:
            cov[self.rows(j)] = True
        return cov

    def value(self, S) -> float:
        return float(self.Wg[self.covered(S)].sum())

    def greedy(self, p: int, start=(), allowed: np.ndarray | None = None) -> list[int]:
        """Add the site of largest marginal gain until ``p`` sites (one mat-vec per site)."""
        S = [int(j) for j in start]
        unc = self.Wg * ~self.covered(S)
        while len(S) < p:
            gains = self.CT @ unc
            if allowed is not None:
                gains[~allowed] = -1.0
            if S:
                gains[S] = -1.0
            j = int(np.argmax(gains)) if self.n_c else -1
            if j < 0 or gains[j] <= 0:
                if allowed is not None:  # nothing useful left in the subset: use all
                    allowed = None
                    continue
                break
            S.append(j)
            unc[self.rows(j)] = 0.0
        return S

    def swap(self, S, max_iter: int = 1000, deadline: float = np.inf) -> tuple[list[int], int]:
        """Best-improvement 1-swaps (remove s, add c) until no swap helps.

        Every (s, c) pair is valued at once: ``gain(c) - loss(s) + shared(s, c)`` where
        ``shared`` is the weight only ``s`` covers that ``c`` covers too (one sparse product).
        """
        S = [int(j) for j in S]
        if not S:
            return S, 0
        swaps = 0
        tol = 1e-9 * max(float(self.Wg.sum()), 1.0)
        for _ in range(max_iter):
            if time.perf_counter() > deadline:
                break
            cnt = np.zeros(self.n_g, dtype=np.int64)
            for s in S:
                cnt[self.rows(s)] += 1
            gain = self.CT @ (self.Wg * (cnt == 0))
            uniq = self.Wg * (cnt == 1)
            Cs = self.Cc[:, S]
            loss = np.asarray(Cs.T @ uniq).ravel()
            shared = (sparse.diags(uniq) @ Cs).T.tocsr() @ self.Cc
            delta = gain[None, :] - loss[:, None] + shared.toarray()
            delta[:, S] = -np.inf
            flat = int(np.argmax(delta))
            si, c = divmod(flat, self.n_c)
            if not delta[si, c] > tol:
                break
            S[si] = int(c)
            swaps += 1
        return S, swaps

    def ils(
        self,
        S,
        p: int,
        deadline: float,
        max_rounds: int = 100_000,
        patience: int = 500,
        seed: int = 0,
    ) -> tuple[list[int], int]:
        """Iterated local search: drop 1-3 sites of the current set, refill greedily from a
        random half of the candidates, descend with swaps. Moves to solutions at least as good
        as the current one (so it walks across plateaus), returns to the best after 200 rounds
        without improvement, stops after ``patience`` such rounds. Seeded: deterministic for a
        given number of rounds."""
        rng = np.random.default_rng(seed)
        best = [int(j) for j in S]
        if len(best) == 0 or self.n_c <= len(best):
            return best, 0
        best_v = self.value(best)
        cur, cur_v = list(best), best_v
        tol = 1e-9 * max(float(self.Wg.sum()), 1.0)
        patience = min(patience, 5 * self.n_c + 50)  # small models converge quickly
        stall = rounds = 0
        while rounds < max_rounds and stall < patience and time.perf_counter() < deadline:
            rounds += 1
            k = int(rng.integers(1, min(3, len(cur)) + 1))
            keep = rng.choice(cur, size=len(cur) - k, replace=False).tolist()
            allowed = rng.random(self.n_c) < 0.5
            S2 = self.greedy(p, start=keep, allowed=allowed)
            S2, _ = self.swap(S2, deadline=deadline)
            v = self.value(S2)
            if v > best_v + tol:
                best, best_v, stall = list(S2), v, 0
            else:
                stall += 1
            if v >= cur_v - tol:
                cur, cur_v = list(S2), v
            if stall and stall % 200 == 0:
                cur, cur_v = list(best), best_v
        return best, rounds

    def order(self, S) -> list[int]:
        """``S`` ordered greedily by marginal gain (the most valuable site first)."""
        S = [int(j) for j in S]
        unc = self.Wg.copy()
        out = []
        rest = list(S)
        while rest:
            gains = [float(unc[self.rows(j)].sum()) for j in rest]
            k = int(np.argmax(gains))
            j = rest.pop(k)
            out.append(j)
            unc[self.rows(j)] = 0.0
        return out

    def bound(self, S, p: int) -> float:
        """Submodularity bound: f(S) + the p largest marginal gains at S."""
        cov = self.covered(S)
        gains = np.asarray(self.CT @ (self.Wg * ~cov)).ravel()
        top = np.sort(gains)[::-1][:p]
        return float(self.Wg[cov].sum() + top.sum())


def _lagrangian_bound(
    search: _CoverSearch, p: int, lb: float, deadline: float, max_iter: int = 3000
) -> tuple[float, int]:
    """Upper bound on the MCLP optimum by Lagrangian relaxation and subgradient steps.

    Relaxing ``y_g <= Σ_{j covers g} x_j`` with multipliers ``0 <= λ_g <= W_g`` gives
    ``L(λ) = Σ_g (W_g - λ_g) + (sum of the p largest Σ_{g covered by j} λ_g)``, an upper bound
    for every λ (no solver tolerance involved). Polyak steps toward the incumbent ``lb``; one
    sparse product per step. Used when the LP relaxation does not finish in time.
    """
    Wg, CT = search.Wg, search.CT
    n_c = search.n_c
    if p <= 0 or n_c == 0:
        return float(Wg.sum()) if n_c == 0 else 0.0, 0
    lam = 0.5 * Wg
    best = np.inf
    theta, stall, it = 1.0, 0, 0
    while it < max_iter:
        it += 1
        if time.perf_counter() > deadline:
            break
        c = CT @ lam
        top = np.argpartition(-c, p - 1)[:p] if p < n_c else np.arange(n_c)
        value = float(np.maximum(Wg - lam, 0.0).sum() + np.maximum(c[top], 0.0).sum())
        if value < best - 1e-9 * max(1.0, abs(best) if np.isfinite(best) else 1.0):
            best, stall = value, 0
        else:
            stall += 1
            if stall >= 50:
                theta, stall = theta / 2.0, 0
        if best - lb <= 1e-9 * max(1.0, lb) or theta < 1e-4:
            break
        cnt = np.zeros(search.n_g)
        for j in top:
            cnt[search.rows(int(j))] += 1.0
        sub = cnt - (lam < Wg)
        norm = float(sub @ sub)
        if norm == 0:
            break
        lam = np.clip(lam - theta * (value - lb) / norm * sub, 0.0, Wg)
    return best, it


def _cover_heuristic(
    Cg, Wg, p, deadline, ils: bool = True, patience: int = 500, seed: int = 0, start=None
) -> tuple[list[int], dict]:
    search = _CoverSearch(Cg, Wg)
    S = search.greedy(p) if start is None else list(start)
    v_greedy = search.value(S)
    S, swaps = search.swap(S, deadline=deadline)
    rounds = 0
    if ils:
        S, rounds = search.ils(S, p, deadline, patience=patience, seed=seed)
    return S, {"greedy_value": v_greedy, "swaps": swaps, "ils_rounds": rounds}


# --------------------------------------------------------------------------- HiGHS plumbing
def _highs_model(
    A: sparse.csr_matrix,
    cost,
    row_lower,
    row_upper,
    *,
    maximize: bool,
    offset: float,
    n_int: int,
    time_limit: float,
    verbose: bool,
    threads: int | None,
):
    """A Highs object holding a 0–1 model: columns ``0 <= x <= 1``, the first ``n_int`` integer.

    The sizes come from ``A`` (row-wise matrix passed as arrays, no Python object per
    coefficient)."""
    import highspy

    h = _new_highs(verbose)
    h.setOptionValue("time_limit", float(max(time_limit, 0.01)))
    h.setOptionValue("random_seed", 0)
    if threads:
        h.setOptionValue("threads", int(threads))
    a_csr = A.tocsr()
    a_csr.sort_indices()
    n_row, n_col = a_csr.shape
    if len(cost) != n_col or len(row_lower) != n_row or len(row_upper) != n_row:
        raise ValueError("model arrays do not match the constraint matrix")
    integrality = np.zeros(n_col, dtype=np.int32)
    integrality[: int(n_int)] = 1
    status = h.passModel(
        int(n_col),
        int(n_row),
        int(a_csr.nnz),
        2,  # 2 = row-wise
        -1 if maximize else 1,
        float(offset),
        np.asarray(cost, dtype=float),
        np.zeros(n_col),
        np.ones(n_col),
        np.asarray(row_lower, dtype=float),
        np.asarray(row_upper, dtype=float),
        a_csr.indptr[:-1].astype(np.int32),
        a_csr.indices.astype(np.int32),
        a_csr.data.astype(float),
        integrality,
    )
    if status != highspy.HighsStatus.kOk:
        raise RuntimeError(f"HiGHS rejected the model: {status}")
    return h


def _new_highs(verbose: bool):
    """A ``highspy.Highs`` whose English start-up banner (printed by the C library on the first
    construction in a process, before any option applies) does not reach a planner's console."""
    import highspy

    if verbose:
        return highspy.Highs()
    sys.stdout.flush()
    try:
        fd = sys.stdout.fileno()
    except (AttributeError, OSError, ValueError):
        fd = None  # stdout is not a file (captured): the banner goes to the real fd 1
    fd = 1 if fd is None else fd
    saved = os.dup(fd)
    try:
        with open(os.devnull, "w") as null:
            os.dup2(null.fileno(), fd)
            h = highspy.Highs()
    finally:
        os.dup2(saved, fd)
        os.close(saved)
    h.setOptionValue("output_flag", False)
    return h


def _status_name(h) -> str:
    import highspy

    ms = h.getModelStatus()
    if ms == highspy.HighsModelStatus.kOptimal:
        return "optimal"
    if ms == highspy.HighsModelStatus.kInfeasible:
        return "infeasible"
    if ms == highspy.HighsModelStatus.kTimeLimit:
        return "time_limit"
    return h.modelStatusToString(ms).lower().replace(" ", "_")


def _highs_solve(
    A: sparse.csr_matrix,
    cost,
    row_lower,
    row_upper,
    *,
    maximize: bool,
    offset: float,
    n_int: int,
    time_limit: float,
    mip_rel_gap: float,
    start: np.ndarray | None,
    verbose: bool,
    threads: int | None,
):
    """Solve a 0–1 MIP (see :func:`_highs_model`); returns (status, x or None, dual bound,
    gap, nodes, objective)."""
    import highspy

    h = _highs_model(
        A,
        cost,
        row_lower,
        row_upper,
        maximize=maximize,
        offset=offset,
        n_int=n_int,
        time_limit=time_limit,
        verbose=verbose,
        threads=threads,
    )
    h.setOptionValue("mip_rel_gap", float(mip_rel_gap))
    if start is not None:
        sol = highspy.HighsSolution()
        sol.col_value = np.asarray(start, dtype=float).tolist()
        sol.value_valid = True
        h.setSolution(sol)
    h.run()
    info = h.getInfo()
    has_sol = info.primal_solution_status == 2
    x = np.asarray(h.getSolution().col_value, dtype=float) if has_sol else None
    return (
        _status_name(h),
        x,
        float(info.mip_dual_bound),
        float(info.mip_gap),
        int(info.mip_node_count),
        float(info.objective_function_value),
    )


def _highs_lp(
    A: sparse.csr_matrix,
    cost,
    row_lower,
    row_upper,
    *,
    maximize: bool,
    time_limit: float,
    verbose: bool,
    threads: int | None,
):
    """Solve the LP relaxation with the interior-point method and crossover.

    Returns (status, objective, x, reduced costs) or (status, nan, None, None). On these
    covering LPs IPM is many times faster than the dual simplex the MIP root would use.
    """
    h = _highs_model(
        A,
        cost,
        row_lower,
        row_upper,
        maximize=maximize,
        offset=0.0,
        n_int=0,
        time_limit=time_limit,
        verbose=verbose,
        threads=threads,
    )
    h.setOptionValue("solver", "ipm")
    h.setOptionValue("run_crossover", "on")
    h.run()
    status = _status_name(h)
    if status != "optimal":
        return status, np.nan, None, None
    sol = h.getSolution()
    return (
        status,
        float(h.getInfo().objective_function_value),
        np.asarray(sol.col_value, dtype=float),
        np.asarray(sol.col_dual, dtype=float),
    )


# --------------------------------------------------------------------------------------- MCLP
def _mclp_matrix(Cg: sparse.csr_matrix, p: int):
    """Rows ``y_g - Σ_{j covers g} x_j <= 0`` and ``Σ x_j <= p``; columns x then y."""
    n_g, n_x = Cg.shape
    A = sparse.vstack(
        [
            sparse.hstack([-Cg, sparse.identity(n_g, format="csr")]),
            sparse.hstack([sparse.csr_matrix(np.ones((1, n_x))), sparse.csr_matrix((1, n_g))]),
        ]
    ).tocsr()
    row_lower = np.full(n_g + 1, -np.inf)
    row_upper = np.concatenate([np.zeros(n_g), [float(p)]])
    return A, row_lower, row_upper


@dataclass
class _Incumbent:
    """The MCLP search's best sites ``S`` (value ``lb``), its proven bound ``ub``, the
    candidates the LP left (``keep``) and the statistics reported."""

    S: list
    lb: float
    ub: float
    keep: np.ndarray
    stats: dict


@dataclass(frozen=True)
class _MclpRun:
    """The settings and clock of one :meth:`MCLP.solve`."""

    t0: float
    deadline: float
    time_limit: float
    mip_rel_gap: float
    tol: float
    warm_start: bool
    verbose: bool
    threads: int | None


class MCLP:
    """Maximal covering location problem: maximise the weight covered with ``p`` new sites.

    Build with :meth:`from_coverage` or :meth:`from_cost_matrix`. The MIP (after the reductions
    in the module notes) is ``max Σ W_g y_g`` s.t. ``y_g <= Σ_{j covers g} x_j``,
    ``Σ x_j <= p``, ``x`` binary, ``0 <= y <= 1``.

    :meth:`solve` works in three steps: (1) greedy, 1-swaps and an iterated local search give a
    strong incumbent; (2) the LP relaxation is solved by the interior-point method — when its
    bound meets the incumbent (MCLP relaxations of sparse street-network instances are often
    integral) optimality is proven without branching; (3) otherwise candidates whose LP
    reduced cost shows they cannot be in a better solution are removed and HiGHS
    branch-and-cut solves the smaller model, warm-started with the incumbent.
    """

    name = "mclp"

    def __init__(self, coverage, weights, p: int, locked=None, drop_dominated: bool = True):
        self.coverage = _as_binary_csr(coverage)
        self.weights = _check_weights(weights, self.coverage.shape[0])
        if int(p) < 0:
            raise ValueError("p must be >= 0")
        self.p = int(p)
        self.locked = _check_locked(locked, self.coverage.shape[1])
        self.drop_dominated = drop_dominated
        self._red: _CoverReduction | None = None

    @classmethod
    def from_coverage(cls, coverage, weights, p: int, locked=None, **kw) -> MCLP:
        """From a sparse boolean coverage matrix (demand × sites)."""
        return cls(coverage, weights, p, locked=locked, **kw)

    @classmethod
    def from_cost_matrix(
        cls, costs, weights, service_radius: float, p: int, locked=None, **kw
    ) -> MCLP:
        """From a cost matrix (sparse: stored pairs; dense: finite entries) and a radius."""
        return cls(coverage_from_costs(costs, service_radius), weights, p, locked=locked, **kw)

    @property
    def reduction(self) -> _CoverReduction:
        if self._red is None:
            self._red = _reduce_cover(self.coverage, self.weights, self.locked, self.drop_dominated)
        return self._red

    def _result(self, red: _CoverReduction, chosen_reduced, bound, status, t0, model, stats):
        chosen_reduced = [int(j) for j in chosen_reduced]
        if chosen_reduced:
            chosen_reduced = _CoverSearch(red.Cg, red.Wg).order(chosen_reduced)
        sites = red.cols[chosen_reduced].astype(np.int64)
        covered = red.covered_locked | _covered_by(red.C, sites)
        objective = float(red.w[covered].sum())
        bound = max(bound, objective)
        gap = _rel_gap(objective, bound)
        return SitingResult(
            model,
            sites,
            red.locked,
            objective,
            bound,
            gap,
            status,
            time.perf_counter() - t0,
            covered=covered,
            unreachable=red.unreachable,
            stats={**red.stats, **stats},
        )

    def solve(
        self,
        time_limit: float = 60.0,
        mip_rel_gap: float = 1e-4,
        warm_start: bool = True,
        lp_first: bool = True,
        heuristic_time: float | None = None,
        verbose: bool = False,
        threads: int | None = None,
    ) -> SitingResult:
        """Solve exactly (HiGHS), within a time limit.

        Parameters
        ----------
        time_limit : float
            Seconds in all; when it runs out the best solution and the proven bound are
            returned (status ``time_limit``).
        mip_rel_gap : float
            Relative gap accepted as optimal (1e-4 = 0.01 %).
        warm_start : bool
            Start from the greedy + swap + iterated-local-search solution.
        lp_first : bool
            Solve the LP relaxation first (interior point) to prove optimality or fix
            candidates by reduced cost before branching.
        heuristic_time : float, optional
            Seconds for the first local search (default 5 % of the limit, between 0.5 and
            5 s). When the LP leaves a gap a second one gets up to 20 % of the time left
            (at most 10 s) before branching.
        """
        t0 = time.perf_counter()
        deadline = t0 + time_limit
        red = self.reduction
        Cg, Wg = red.Cg, red.Wg
        n_g, n_x = Cg.shape
        p = self.p
        if n_x <= p or n_g == 0:
            return self._result(
                red,
                list(range(n_x)),
                red.const + float(Wg.sum()),
                "optimal",
                t0,
                self.name,
                {"solver": "trivial"},
            )
        stats: dict = {"solver": "highs"}
        S: list[int] = []
        if warm_start:
            h_time = (
                heuristic_time
                if heuristic_time is not None
                else min(max(0.05 * time_limit, 0.5), 5.0)
            )
            # a short local search first (the LP often proves it optimal); a longer one
            # follows only when the LP leaves a gap. Small models: greedy + swaps suffice,
            # HiGHS closes them in milliseconds.
            S, hstats = _cover_heuristic(
                Cg, Wg, p, min(deadline, t0 + h_time), ils=n_x > 50, patience=100
            )
            stats.update(hstats)
        lb = _CoverSearch(Cg, Wg).value(S) if S else 0.0
        stats["heuristic_objective"] = red.const + lb
        inc = _Incumbent(S, lb, np.inf, np.ones(n_x, dtype=bool), stats)
        tol = max(mip_rel_gap * max(lb, 1e-12), 1e-9)
        run = _MclpRun(t0, deadline, time_limit, mip_rel_gap, tol, warm_start, verbose, threads)
        if lp_first and self._lp_stage(inc, run):
            inc.stats["solver"] = "highs-lp"
            return self._result(red, inc.S, red.const + inc.ub, "optimal", t0, self.name, inc.stats)
        return self._branch_and_cut(inc, run)

    def _improve(self, inc: _Incumbent, until: float) -> None:
        """A longer iterated local search from the incumbent, kept when better."""
        red = self.reduction
        search = _CoverSearch(red.Cg, red.Wg)
        S2, h2 = _cover_heuristic(red.Cg, red.Wg, self.p, until, patience=5000, seed=1, start=inc.S)
        inc.stats["ils_rounds"] = inc.stats.get("ils_rounds", 0) + h2["ils_rounds"]
        v2 = search.value(S2)
        if v2 > inc.lb:
            inc.S, inc.lb = S2, v2
            inc.stats["heuristic_objective"] = red.const + inc.lb

    def _lp_stage(self, inc: _Incumbent, run: _MclpRun) -> bool:
        """The LP relaxation (interior point): a bound, an integral optimum, or candidates
        fixed by reduced cost; True when it proves the incumbent optimal."""
        red = self.reduction
        Cg, Wg = red.Cg, red.Wg
        n_x = Cg.shape[1]
        A, row_lower, row_upper = _mclp_matrix(Cg, self.p)
        cost = np.concatenate([np.zeros(n_x), Wg])
        st, z, xv, dj = _highs_lp(
            A,
            cost,
            row_lower,
            row_upper,
            maximize=True,
            time_limit=0.7 * (run.deadline - time.perf_counter()),
            verbose=run.verbose,
            threads=run.threads,
        )
        inc.stats["lp_status"] = st
        if st != "optimal":
            # the LP did not finish (very dense models): half of the time left improves
            # the incumbent, the other half buys a Lagrangian bound instead
            end = run.deadline - min(0.5, 0.03 * run.time_limit)
            if run.warm_start and inc.S and n_x > 50:
                self._improve(inc, time.perf_counter() + 0.5 * max(end - time.perf_counter(), 0.0))
            lag, its = _lagrangian_bound(_CoverSearch(Cg, Wg), self.p, inc.lb, end)
            inc.ub = min(inc.ub, lag)
            inc.stats.update(lagrangian_bound=red.const + lag, lagrangian_iterations=its)
            return False
        inc.ub = z
        inc.stats["lp_bound"] = red.const + z
        x = xv[:n_x]
        if np.all((x < 1e-7) | (x > 1 - 1e-7)):  # integral LP optimum
            S_lp = list(np.flatnonzero(x > 0.5))
            if len(S_lp) <= self.p and _CoverSearch(Cg, Wg).value(S_lp) > inc.lb:
                inc.S, inc.lb = S_lp, _CoverSearch(Cg, Wg).value(S_lp)
        if inc.ub - inc.lb <= run.tol:
            return True
        # the LP leaves a gap: a longer local search first (a better incumbent also fixes
        # more candidates), then reduced-cost fixing
        if run.warm_start and inc.S and n_x > 50:
            more = min(0.2 * (run.deadline - time.perf_counter()), 10.0)
            self._improve(inc, time.perf_counter() + more)
            if run.tol >= inc.ub - inc.lb:
                return True
        # x_j = 1 would bound the objective by ub + d_j (reduced cost d_j <= 0)
        d = np.minimum(dj[:n_x], 0.0)
        inc.keep = (x > 1e-9) | (inc.ub + d >= inc.lb - 1e-7 * max(1.0, inc.lb))
        inc.keep[inc.S] = True
        inc.stats["lp_fixed_candidates"] = int((~inc.keep).sum())
        return False

    def _branch_and_cut(self, inc: _Incumbent, run: _MclpRun) -> SitingResult:
        """HiGHS branch and cut on the candidates the LP left, from the incumbent."""
        red, p = self.reduction, self.p
        Cg, Wg = red.Cg, red.Wg
        S, stats = inc.S, inc.stats
        cols_r = np.flatnonzero(inc.keep)
        sub = _reduce_cover(
            sparse.csr_matrix(Cg[:, cols_r]), Wg, np.zeros(0, dtype=np.int64), self.drop_dominated
        )
        Cr, Wr = sub.Cg, sub.Wg
        pos = {int(c): k for k, c in enumerate(cols_r[sub.cols])}
        nr_g, nr_x = Cr.shape
        # keep a little of the limit for building the result
        remaining = run.deadline - time.perf_counter() - min(0.5, 0.03 * run.time_limit)
        if nr_x <= p or nr_g == 0 or remaining <= 0:
            if nr_x <= p and nr_g > 0:
                S = [int(c) for c in cols_r[sub.cols]]
            status = "optimal" if (nr_x <= p or nr_g == 0) else "time_limit"
            bound = inc.ub if status != "optimal" else _CoverSearch(Cg, Wg).value(S)
            bound = min(bound, _CoverSearch(Cg, Wg).bound(S, p))
            return self._result(red, S, red.const + bound, status, run.t0, self.name, stats)
        start = None
        if S and all(int(j) in pos for j in S):
            x0 = np.zeros(nr_x)
            x0[[pos[int(j)] for j in S]] = 1.0
            y0 = (np.diff(Cr[:, x0 > 0.5].tocsr().indptr) > 0).astype(float)
            start = np.concatenate([x0, y0])
        Ar, rl, ru = _mclp_matrix(Cr, p)
        status, xr, bound_r, _, nodes, _ = _highs_solve(
            Ar,
            np.concatenate([np.zeros(nr_x), Wr]),
            rl,
            ru,
            maximize=True,
            offset=sub.const,
            n_int=nr_x,
            time_limit=remaining,
            mip_rel_gap=run.mip_rel_gap,
            start=start,
            verbose=run.verbose,
            threads=run.threads,
        )
        stats.update(
            {
                "mip_nodes": nodes,
                "mip_columns": nr_x + nr_g,
                "mip_rows": nr_g + 1,
                "mip_nonzeros": Ar.nnz,
                "mip_candidates": nr_x,
            }
        )
        if xr is not None:
            S_mip = [int(c) for c in cols_r[sub.cols[np.flatnonzero(xr[:nr_x] > 0.5)]]]
            if _CoverSearch(Cg, Wg).value(S_mip) >= inc.lb:
                S = S_mip
        bound = min(
            inc.ub, bound_r if np.isfinite(bound_r) else np.inf, _CoverSearch(Cg, Wg).bound(S, p)
        )
        return self._result(red, S, red.const + bound, status, run.t0, self.name, stats)


# --------------------------------------------------------------------------------------- LSCP
class LSCP:
    """Location set covering: the fewest new sites that cover a target share of the demand.

    ``target`` is a share of the weight that *can* be reached (demand no site reaches is
    reported and left out of the target). With ``target = 1`` every reachable demand row with a
    positive weight must be covered (set covering); below 1 the covered weight must reach the
    share (partial covering). Among minimal solutions a second MCLP stage picks one covering the
    most weight (``polish``).
    """

    name = "lscp"

    def __init__(
        self, coverage, weights=None, target: float = 1.0, locked=None, drop_dominated: bool = True
    ):
        self.coverage = _as_binary_csr(coverage)
        self.weights = _check_weights(weights, self.coverage.shape[0])
        if not 0.0 < float(target) <= 1.0:
            raise ValueError("target must be a share in (0, 1]")
        self.target = float(target)
        self.locked = _check_locked(locked, self.coverage.shape[1])
        self.drop_dominated = drop_dominated

    @classmethod
    def from_coverage(cls, coverage, weights=None, target: float = 1.0, locked=None, **kw) -> LSCP:
        """From a sparse boolean coverage matrix (demand × sites)."""
        return cls(coverage, weights, target=target, locked=locked, **kw)

    @classmethod
    def from_cost_matrix(
        cls, costs, service_radius: float, weights=None, target: float = 1.0, locked=None, **kw
    ) -> LSCP:
        """From a cost matrix and a service radius."""
        return cls(
            coverage_from_costs(costs, service_radius), weights, target=target, locked=locked, **kw
        )

    def solve(
        self,
        time_limit: float = 60.0,
        mip_rel_gap: float = 1e-4,
        polish: bool = True,
        verbose: bool = False,
        threads: int | None = None,
    ) -> SitingResult:
        """Solve exactly with HiGHS (see :meth:`MCLP.solve` for the parameters)."""
        t0 = time.perf_counter()
        red = _reduce_cover(self.coverage, self.weights, self.locked, self.drop_dominated)
        W_R = red.reachable_weight
        required = self.target * W_R
        need = required - red.const
        tol = 1e-9 * max(W_R, 1.0)
        stats = {
            **red.stats,
            "target": self.target,
            "reachable_weight": W_R,
            "required_weight": required,
        }
        if need <= tol or red.Cg.shape[0] == 0:
            return self._finish(red, [], 0.0, "optimal", {**stats, "solver": "trivial"}, t0)
        full = self.target >= 1.0 - 1e-12
        g = _greedy_cover(red.Cg, red.Wg, need, tol, full)
        highs = {"mip_rel_gap": mip_rel_gap, "verbose": verbose, "threads": threads}
        if full:
            left = time_limit - (time.perf_counter() - t0)
            status, chosen, bound, nodes = _set_cover(red.Cg, g, left, highs)
            extra = {"solver": "highs", "mip_nodes": nodes}
            return self._finish(red, chosen, bound, status, {**stats, **extra}, t0)
        status, chosen, bound, nodes = _partial_cover(
            red.Cg, red.Wg, g, need, 1.0 / W_R, time_limit - (time.perf_counter() - t0), highs
        )
        extra = {"solver": "highs", "mip_nodes": nodes}
        remaining = time_limit - (time.perf_counter() - t0)
        if polish and status == "optimal" and len(chosen) and remaining > 0:
            sub = MCLP(red.Cg, red.Wg, len(chosen), drop_dominated=False)
            pol = sub.solve(time_limit=remaining, **highs)
            if pol.objective >= _CoverSearch(red.Cg, red.Wg).value(chosen) - 1e-12:
                chosen = pol.sites
                extra["polished"] = True
        return self._finish(red, chosen, bound, status, {**stats, **extra}, t0)

    def _finish(self, red: _CoverReduction, chosen, bound, status, stats, t0) -> SitingResult:
        """The result: sites in problem order, the integer bound and whether the target is met."""
        W_R = red.reachable_weight
        required = self.target * W_R
        chosen = [int(j) for j in chosen]
        if chosen:
            chosen = _CoverSearch(red.Cg, red.Wg).order(chosen)
        sites = red.cols[chosen].astype(np.int64)
        covered = red.covered_locked | _covered_by(red.C, sites)
        cw = float(red.w[covered].sum())
        bound_i = float(max(min(np.ceil(bound - 1e-6), len(sites)), 0.0))
        st = {
            **stats,
            "covered_weight": cw,
            "covered_share": cw / W_R if W_R > 0 else 1.0,
            "target_met": bool(cw >= required - 1e-6 * max(W_R, 1.0)),
        }
        return SitingResult(
            self.name,
            sites,
            red.locked,
            float(len(sites)),
            bound_i,
            _rel_gap(float(len(sites)), bound_i),
            status,
            time.perf_counter() - t0,
            covered=covered,
            unreachable=red.unreachable,
            stats=st,
        )


def _greedy_cover(Cg, Wg, need: float, tol: float, full: bool) -> list[int]:
    """The LSCP's greedy start: best sites added until the target is met."""
    g = []
    unc = Wg.copy()
    CT, Cc = Cg.T.tocsr(), Cg.tocsc()
    got = 0.0
    while (got < need - tol) if not full else (unc.sum() > 0 and np.any(unc > 0)):
        gains = CT @ unc
        j = int(np.argmax(gains))
        if gains[j] <= 0:
            break
        g.append(j)
        rows = Cc.indices[Cc.indptr[j] : Cc.indptr[j + 1]]
        got += float(unc[rows].sum())
        unc[rows] = 0.0
    return g


def _set_cover(Cg, g: list[int], time_limit: float, highs: dict):
    """Set covering, Σ_{j covers g} x_j >= 1 for every group, from the greedy sites ``g``:
    (status, chosen columns, bound, branch-and-bound nodes)."""
    n_g, n_x = Cg.shape
    x0 = np.zeros(n_x)
    x0[g] = 1.0
    status, x, bound, _, nodes, _ = _highs_solve(
        sparse.csr_matrix(Cg),
        np.ones(n_x),
        np.ones(n_g),
        np.full(n_g, np.inf),
        maximize=False,
        offset=0.0,
        n_int=n_x,
        time_limit=time_limit,
        start=x0,
        **highs,
    )
    if x is None:
        raise RuntimeError(f"HiGHS found no solution for the LSCP (status {status})")
    return status, np.flatnonzero(x > 0.5), bound, nodes


def _partial_cover(Cg, Wg, g: list[int], need: float, scale: float, time_limit, highs: dict):
    """Partial covering, weights scaled by ``scale`` (1 / the reachable weight): the covered
    weight at least ``need``, from the greedy sites ``g``; as :func:`_set_cover`."""
    n_g, n_x = Cg.shape
    A = sparse.vstack(
        [
            sparse.hstack([-Cg, sparse.identity(n_g, format="csr")]),
            sparse.hstack([sparse.csr_matrix((1, n_x)), sparse.csr_matrix(Wg[None, :] * scale)]),
        ]
    ).tocsr()
    x0 = np.zeros(n_x)
    x0[g] = 1.0
    y0 = (np.diff(Cg[:, g].tocsr().indptr) > 0).astype(float) if g else np.zeros(n_g)
    status, x, bound, _, nodes, _ = _highs_solve(
        A,
        np.concatenate([np.ones(n_x), np.zeros(n_g)]),
        np.concatenate([np.full(n_g, -np.inf), [need * scale]]),
        np.concatenate([np.zeros(n_g), [np.inf]]),
        maximize=False,
        offset=0.0,
        n_int=n_x,
        time_limit=time_limit,
        start=np.concatenate([x0, y0]),
        **highs,
    )
    if x is None:
        raise RuntimeError(f"HiGHS found no solution for the LSCP (status {status})")
    return status, np.flatnonzero(x[:n_x] > 0.5), bound, nodes


# ----------------------------------------------------------------------------------- p-median
@dataclass
class _MedianReduction:
    shape: tuple[int, int]
    r_all: np.ndarray
    c_all: np.ndarray
    d_all: np.ndarray  # all allowed pairs (within the cutoff)
    w: np.ndarray
    locked: np.ndarray
    fallback: np.ndarray  # per demand: min(penalty, nearest locked)
    penalty: float
    cutoff: float
    cols: np.ndarray  # original column of reduced columns
    rows: np.ndarray  # original demand row of reduced rows
    pr: np.ndarray  # reduced pair row
    pc: np.ndarray  # reduced pair column
    pd: np.ndarray  # pair distance
    pw: np.ndarray  # weight of reduced rows
    pf: np.ndarray  # fallback of reduced rows
    const: float  # Σ w f over all demand (the cost with no new site)
    unreachable: np.ndarray
    stats: dict


def _reduce_median(costs, w, locked, cutoff, penalty) -> _MedianReduction:
    shape, r, c, d = _as_pairs(costs, cutoff)
    n_d, n_c = shape
    if penalty is None:
        ref = (
            cutoff
            if cutoff is not None and np.isfinite(cutoff)
            else (float(d.max()) if len(d) else 1.0)
        )
        penalty = 2.0 * ref
    penalty = float(penalty)
    cutoff = float(cutoff) if cutoff is not None else np.inf
    fallback = np.full(n_d, penalty)
    is_locked = np.zeros(n_c, dtype=bool)
    is_locked[locked] = True
    lk = is_locked[c]
    if lk.any():
        np.minimum.at(fallback, r[lk], d[lk])
    reach = np.zeros(n_d, dtype=bool)
    reach[r] = True
    keep = ~lk & (d < fallback[r] - 1e-12) & (w[r] > 0)
    rr, cc, dd = r[keep], c[keep], d[keep]
    rows, pr = np.unique(rr, return_inverse=True)
    cols, pc = np.unique(cc, return_inverse=True)
    const = float((w * fallback).sum())
    stats = {
        "demand_rows": n_d,
        "sites": n_c,
        "locked": len(locked),
        "pairs": len(r),
        "model_pairs": len(rr),
        "model_rows": len(rows),
        "model_candidates": len(cols),
        "unreachable_rows": int((~reach).sum()),
        "unreachable_weight": float(w[~reach].sum()),
        "penalty": penalty,
        "cutoff": cutoff,
    }
    return _MedianReduction(
        shape,
        r,
        c,
        d,
        w,
        locked,
        fallback,
        penalty,
        cutoff,
        cols.astype(np.int64),
        rows.astype(np.int64),
        pr.astype(np.int64),
        pc.astype(np.int64),
        dd,
        w[rows],
        fallback[rows],
        const,
        np.flatnonzero(~reach),
        stats,
    )


def _median_costs(red: _MedianReduction, open_cols) -> tuple[np.ndarray, np.ndarray]:
    """Charged distance and serving site per demand row for a set of open sites."""
    n_d, n_c = red.shape
    is_open = np.zeros(n_c, dtype=bool)
    is_open[np.asarray(open_cols, dtype=np.int64)] = True
    m = is_open[red.c_all]
    r, c, d = red.r_all[m], red.c_all[m], red.d_all[m]
    cost = np.full(n_d, red.penalty)
    assign = np.full(n_d, -1, dtype=np.int64)
    if len(r):
        order = np.lexsort((c, d, r))
        r, c, d = r[order], c[order], d[order]
        first = np.ones(len(r), dtype=bool)
        first[1:] = r[1:] != r[:-1]
        better = d[first] < red.penalty
        cost[r[first][better]] = d[first][better]
        assign[r[first][better]] = c[first][better]
    return cost, assign


def _median_state(pr, pc, pd, pw, pf, S, n_rows):
    """Nearest and second-nearest open choice per reduced row (fallback counts as a choice)."""
    inS = np.isin(pc, np.asarray(S, dtype=np.int64))
    r, c, d = pr[inS], pc[inS], pd[inS]
    order = np.lexsort((c, d, r))
    r, c, d = r[order], c[order], d[order]
    first = np.ones(len(r), dtype=bool)
    first[1:] = r[1:] != r[:-1]
    best_d = np.full(n_rows, np.inf)
    best_c = np.full(n_rows, -1, dtype=np.int64)
    best_d[r[first]] = d[first]
    best_c[r[first]] = c[first]
    second_d = np.full(n_rows, np.inf)
    idx = np.flatnonzero(first) + 1
    ok = idx < len(r)
    idx = idx[ok]
    same = r[idx] == r[np.flatnonzero(first)[ok]]
    second_d[r[idx[same]]] = d[idx[same]]
    served = best_d < pf
    cur = np.where(served, best_d, pf)
    assign = np.where(served, best_c, -1)
    second = np.minimum(pf, second_d)
    return cur, assign, second


def _greedy_median(pr, pc, pd, pw, pf, n_cols, p) -> list[int]:
    order = np.argsort(pc, kind="stable")
    pr_c, pd_c = pr[order], pd[order]
    ptr = np.searchsorted(pc[order], np.arange(n_cols + 1))
    cur = pf.copy()
    chosen: list[int] = []
    while len(chosen) < p:
        sav = np.bincount(pc, weights=pw[pr] * np.maximum(0.0, cur[pr] - pd), minlength=n_cols)
        if chosen:
            sav[chosen] = -1.0
        j = int(np.argmax(sav)) if n_cols else -1
        if j < 0 or sav[j] <= 0:
            break
        chosen.append(j)
        rows, dist = pr_c[ptr[j] : ptr[j + 1]], pd_c[ptr[j] : ptr[j + 1]]
        cur[rows] = np.minimum(cur[rows], dist)
    return chosen


def _swap_median(
    pr, pc, pd, pw, pf, n_cols, S, max_iter=1000, deadline=np.inf
) -> tuple[list[int], int]:
    """Best-improvement 1-swaps for the p-median, all (s, c) pairs evaluated at once.

    Saving of swapping s → c = ``add(c) - loss(s) + extra(s, c)`` with
    ``add(c) = Σ w max(0, cur - d_c)``, ``loss(s) = Σ_{i served by s} w (second - cur)`` and
    ``extra(s, c) = Σ_{i served by s, d_ic < second_i} w (second - max(d_ic, cur))``.
    """
    S = list(S)
    if not S:
        return S, 0
    n_rows = len(pw)
    swaps = 0
    for _ in range(max_iter):
        if time.perf_counter() > deadline:
            break
        cur, assign, second = _median_state(pr, pc, pd, pw, pf, S, n_rows)
        add = np.bincount(pc, weights=pw[pr] * np.maximum(0.0, cur[pr] - pd), minlength=n_cols)
        apos = _positions(assign, S, n_cols)
        srv = apos >= 0
        loss = np.bincount(apos[srv], weights=(pw * (second - cur))[srv], minlength=len(S))
        m = srv[pr] & (pd < second[pr])
        vals = pw[pr[m]] * (second[pr[m]] - np.maximum(pd[m], cur[pr[m]]))
        extra = np.bincount(
            apos[pr[m]] * n_cols + pc[m], weights=vals, minlength=len(S) * n_cols
        ).reshape(len(S), n_cols)
        delta = add[None, :] - loss[:, None] + extra
        delta[:, S] = -np.inf
        flat = int(np.argmax(delta))
        si, c = divmod(flat, n_cols)
        total = float((pw * cur).sum())
        if not delta[si, c] > 1e-9 * max(total, 1.0):
            break
        S[si] = int(c)
        swaps += 1
    return S, swaps


def _positions(assign: np.ndarray, S: list[int], n_cols: int) -> np.ndarray:
    pos = np.full(n_cols, -1, dtype=np.int64)
    pos[np.asarray(S, dtype=np.int64)] = np.arange(len(S))
    out = np.full(len(assign), -1, dtype=np.int64)
    ok = assign >= 0
    out[ok] = pos[assign[ok]]
    return out


def _median_order(red: _MedianReduction, S) -> list[int]:
    """Order a set greedily by saving (the most valuable site first)."""
    S = list(S)
    m = np.isin(red.pc, S)
    sub_pos = {s: k for k, s in enumerate(S)}
    pc_sub = np.array([sub_pos[c] for c in red.pc[m].tolist()], dtype=np.int64)
    order = _greedy_median(red.pr[m], pc_sub, red.pd[m], red.pw, red.pf, len(S), len(S))
    rest = [k for k in range(len(S)) if k not in order]
    return [S[k] for k in order + rest]


def _median_bound(red: _MedianReduction, S, p) -> float:
    """Lower bound from submodularity of the savings: cost(S) - the p largest savings at S."""
    cur, _, _ = _median_state(red.pr, red.pc, red.pd, red.pw, red.pf, list(S), len(red.pw))
    sav = np.bincount(
        red.pc,
        weights=red.pw[red.pr] * np.maximum(0.0, cur[red.pr] - red.pd),
        minlength=len(red.cols),
    )
    top = np.sort(sav)[::-1][:p]
    return red.const - float((red.pw * (red.pf - cur)).sum()) - float(top.sum())


class PMedian:
    """p-median: minimise the total weighted walking distance with ``p`` new sites.

    See the module notes for the cost model (cutoff, penalty, locked sites). The MIP is
    ``min Σ w f - Σ_{ij} w_i (f_i - d_ij) z_ij`` s.t. ``Σ_j z_ij <= 1``, ``z_ij <= x_j``,
    ``Σ x_j <= p``: the charge of a demand drops from its fallback ``f_i`` to the distance of
    the site serving it. In an optimum every demand is served by its nearest open site.
    """

    name = "pmedian"

    def __init__(
        self,
        costs,
        weights,
        p: int,
        locked=None,
        cutoff: float | None = None,
        penalty: float | None = None,
    ):
        self.costs = costs
        n_d, n_c = costs.shape
        self.weights = _check_weights(weights, n_d)
        if int(p) < 0:
            raise ValueError("p must be >= 0")
        self.p = int(p)
        self.locked = _check_locked(locked, n_c)
        self.cutoff = cutoff
        self.penalty = penalty
        self._red: _MedianReduction | None = None

    @classmethod
    def from_cost_matrix(
        cls,
        costs,
        weights,
        p: int,
        locked=None,
        cutoff: float | None = None,
        penalty: float | None = None,
    ) -> PMedian:
        """From a cost matrix: sparse (stored entries are the allowed pairs; store zero
        distances explicitly) or dense (``inf`` = not allowed). Pairs beyond ``cutoff`` are
        dropped; ``penalty`` is charged to demand no open site serves (default 2 × cutoff)."""
        return cls(costs, weights, p, locked=locked, cutoff=cutoff, penalty=penalty)

    @property
    def reduction(self) -> _MedianReduction:
        if self._red is None:
            self._red = _reduce_median(
                self.costs, self.weights, self.locked, self.cutoff, self.penalty
            )
        return self._red

    def _result(self, red, chosen_reduced, bound, status, t0, model, stats):
        chosen_reduced = [int(j) for j in chosen_reduced]
        if chosen_reduced:
            chosen_reduced = _median_order(red, chosen_reduced)
        sites = red.cols[chosen_reduced].astype(np.int64)
        cost, assign = _median_costs(red, np.concatenate([red.locked, sites]))
        objective = float((red.w * cost).sum())
        bound = min(bound, objective)
        served = assign >= 0
        st = {
            **red.stats,
            **stats,
            "served_weight": float(red.w[served].sum()),
            "unserved_rows": int((~served).sum()),
            "unserved_weight": float(red.w[~served].sum()),
        }
        return SitingResult(
            model,
            sites,
            red.locked,
            objective,
            bound,
            _rel_gap(objective, bound),
            status,
            time.perf_counter() - t0,
            assignment=assign,
            cost=cost,
            unreachable=red.unreachable,
            stats=st,
        )

    def solve(
        self,
        time_limit: float = 60.0,
        mip_rel_gap: float = 1e-4,
        warm_start: bool = True,
        verbose: bool = False,
        threads: int | None = None,
    ) -> SitingResult:
        """Solve exactly with HiGHS (see :meth:`MCLP.solve` for the parameters)."""
        t0 = time.perf_counter()
        red = self.reduction
        n_x, n_r, n_z = len(red.cols), len(red.rows), len(red.pd)
        if n_x <= self.p or n_z == 0:
            return self._result(
                red, list(range(n_x)), -np.inf, "optimal", t0, self.name, {"solver": "trivial"}
            )
        start = None
        if warm_start:
            g = _greedy_median(red.pr, red.pc, red.pd, red.pw, red.pf, n_x, self.p)
            g, _ = _swap_median(
                red.pr, red.pc, red.pd, red.pw, red.pf, n_x, g, deadline=t0 + 0.25 * time_limit
            )
            x0 = np.zeros(n_x)
            x0[g] = 1.0
            cur, assign, _ = _median_state(red.pr, red.pc, red.pd, red.pw, red.pf, g, n_r)
            z0 = ((assign[red.pr] == red.pc) & (assign[red.pr] >= 0)).astype(float)
            start = np.concatenate([x0, z0])
        # columns: x (n_x) then z (n_z); rows: Σ_j z_ij <= 1 (n_r); z_ij - x_j <= 0 (n_z);
        # Σ x <= p
        k = np.arange(n_z)
        A_assign = sparse.csr_matrix((np.ones(n_z), (red.pr, n_x + k)), shape=(n_r, n_x + n_z))
        A_link = sparse.csr_matrix(
            (
                np.concatenate([np.ones(n_z), -np.ones(n_z)]),
                (np.concatenate([k, k]), np.concatenate([n_x + k, red.pc])),
            ),
            shape=(n_z, n_x + n_z),
        )
        A_card = sparse.csr_matrix(
            (np.ones(n_x), (np.zeros(n_x, dtype=np.int64), np.arange(n_x))), shape=(1, n_x + n_z)
        )
        A = sparse.vstack([A_assign, A_link, A_card]).tocsr()
        n_col = n_x + n_z
        cost = np.concatenate([np.zeros(n_x), -red.pw[red.pr] * (red.pf[red.pr] - red.pd)])
        n_row = n_r + n_z + 1
        row_upper = np.concatenate([np.ones(n_r), np.zeros(n_z), [float(self.p)]])
        status, x, bound, _, nodes, _ = _highs_solve(
            A,
            cost,
            np.full(n_row, -np.inf),
            row_upper,
            maximize=False,
            offset=red.const,
            n_int=n_x,
            time_limit=time_limit - (time.perf_counter() - t0),
            mip_rel_gap=mip_rel_gap,
            start=start,
            verbose=verbose,
            threads=threads,
        )
        if x is None:
            raise RuntimeError(f"HiGHS found no solution for the p-median (status {status})")
        chosen = np.flatnonzero(x[:n_x] > 0.5)
        return self._result(
            red,
            chosen,
            bound,
            status,
            t0,
            self.name,
            {
                "solver": "highs",
                "mip_nodes": nodes,
                "mip_columns": n_col,
                "mip_rows": n_row,
                "mip_nonzeros": A.nnz,
            },
        )


# ------------------------------------------------------------------------------------- Greedy
class Greedy:
    """Greedy siting with swap improvement, for fast interactive answers.

    :meth:`from_coverage` optimises the MCLP objective (covered weight), :meth:`from_cost_matrix`
    the p-median objective. Greedy adds the site with the largest marginal gain ``p`` times
    (one sparse product each); the swap phase then exchanges one chosen site for one
    candidate while that improves the objective, evaluating every (chosen, candidate) pair at
    once. For the coverage objective an iterated local search follows (drop 1-3 sites, refill
    greedily from a random half of the candidates, swap again; seeded). The result carries the
    submodularity bound, so the gap is an honest a-posteriori certificate.
    """

    def __init__(self, objective: str, model):
        self.objective = objective
        self.model = model

    @classmethod
    def from_coverage(cls, coverage, weights, p: int, locked=None) -> Greedy:
        """MCLP objective on a boolean coverage matrix."""
        return cls("mclp", MCLP(coverage, weights, p, locked=locked))

    @classmethod
    def from_cost_matrix(
        cls,
        costs,
        weights,
        p: int,
        locked=None,
        cutoff: float | None = None,
        penalty: float | None = None,
    ) -> Greedy:
        """p-median objective on a cost matrix (same conventions as :class:`PMedian`)."""
        return cls(
            "pmedian", PMedian(costs, weights, p, locked=locked, cutoff=cutoff, penalty=penalty)
        )

    def solve(
        self,
        swap: bool = True,
        ils: bool = True,
        time_limit: float | None = 1.0,
        max_swaps: int = 1000,
        max_rounds: int = 100_000,
        patience: int = 500,
        seed: int = 0,
    ) -> SitingResult:
        """Run greedy, then (``swap``) 1-swap descent and (``ils``, coverage objective) the
        iterated local search.

        Parameters
        ----------
        time_limit : float or None
            Seconds for the search (``None``: until it converges).
        max_rounds, patience : int
            Local-search rounds in all / without improvement before stopping.
        seed : int
            Seed of the local search's random choices.
        """
        t0 = time.perf_counter()
        deadline = t0 + 0.95 * time_limit if time_limit else np.inf  # 5 % for the tables
        m = self.model
        if self.objective == "mclp":
            red = m.reduction
            search = _CoverSearch(red.Cg, red.Wg)
            g = search.greedy(m.p)
            n_swaps = rounds = 0
            if swap:
                g, n_swaps = search.swap(g, max_iter=max_swaps, deadline=deadline)
                if ils:
                    g, rounds = search.ils(
                        g, m.p, deadline, max_rounds=max_rounds, patience=patience, seed=seed
                    )
            bound = red.const + search.bound(g, m.p)
            solver = "greedy" + ("+swap" if swap else "") + ("+ils" if swap and ils else "")
            return m._result(
                red,
                g,
                bound,
                "heuristic",
                t0,
                "greedy-mclp",
                {"solver": solver, "swaps": n_swaps, "ils_rounds": rounds},
            )
        red = m.reduction
        n_x = len(red.cols)
        g = _greedy_median(red.pr, red.pc, red.pd, red.pw, red.pf, n_x, m.p)
        n_swaps = 0
        if swap:
            g, n_swaps = _swap_median(
                red.pr,
                red.pc,
                red.pd,
                red.pw,
                red.pf,
                n_x,
                g,
                max_iter=max_swaps,
                deadline=deadline,
            )
        bound = _median_bound(red, g, m.p) if n_x else red.const
        return m._result(
            red,
            g,
            bound,
            "heuristic",
            t0,
            "greedy-pmedian",
            {"solver": "greedy+swap" if swap else "greedy", "swaps": n_swaps},
        )
