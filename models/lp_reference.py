"""The LP relaxation of the allocation problem solved by HiGHS: the reference the solver is
checked against (tests, benchmarks/allocation.py). Builds a sparse constraint matrix; fits
instances of up to a few million pairs in memory."""

from __future__ import annotations

import numpy as np
from scipy.optimize import Bounds, LinearConstraint, linprog, milp
from scipy.sparse import csr_matrix, vstack

from models.allocation import AllocationProblem


def _constraints(p: AllocationProblem):
    n = len(p.household_id)
    _, hh = np.unique(p.household_id, return_inverse=True)
    campaigns, camp = np.unique(p.campaign_id, return_inverse=True)
    rows = [
        csr_matrix(np.asarray(p.cost, float).reshape(1, -1)),
        csr_matrix((np.ones(n), (camp, np.arange(n))), shape=(len(campaigns), n)),
        csr_matrix((np.ones(n), (hh, np.arange(n))), shape=(hh.max() + 1, n)),
    ]
    ub = np.r_[p.budget, [p.campaign_cap.get(int(j), 0) for j in campaigns], np.full(hh.max() + 1, p.max_per_household)]
    return vstack(rows).tocsr(), ub


def lp_optimum(p: AllocationProblem, method: str = "highs-ipm") -> float:
    """Optimal value of the LP relaxation (0 <= x <= 1)."""
    A, ub = _constraints(p)
    res = linprog(-np.asarray(p.value, float), A_ub=A, b_ub=ub, bounds=(0, 1), method=method)
    if res.status != 0:
        raise RuntimeError(f"HiGHS did not solve the LP: {res.message}")
    return float(-res.fun)


def integer_optimum(p: AllocationProblem) -> float:
    """Optimal value of the 0/1 problem (small instances only)."""
    A, ub = _constraints(p)
    res = milp(
        -np.asarray(p.value, float),
        constraints=LinearConstraint(A, -np.inf, ub),
        integrality=np.ones(len(p.value)),
        bounds=Bounds(0, 1),
    )
    if res.status != 0:
        raise RuntimeError(f"HiGHS did not solve the MILP: {res.message}")
    return float(-res.fun)
