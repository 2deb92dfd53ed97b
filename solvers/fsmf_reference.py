"""Plain-loop reference of the FSMF solver: the test oracle of :func:`wellposed.solvers.fsmf.solve_fsmf`.

Written independently of the batched solver (its own loops over blocks and entries; only the input check and
the tractability gate are shared), so that the tests compare two computations of the same optimum.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from wellposed.classify import classify
from wellposed.support import SupportPattern

from .fsmf import _require_tractable, as_data_matrix

__all__ = ["solve_fsmf_reference"]


def solve_fsmf_reference(A: Any, pattern: SupportPattern) -> tuple[np.ndarray, np.ndarray, float]:
    """Plain-loop reference for :func:`solve_fsmf`: ``(X, Y, optimal_value)``.

    One SVD per block in a Python loop, the complete classes filled entry by entry. Slow; used as
    the test oracle for the batched solver.

    Examples
    --------
    >>> import numpy as np
    >>> from wellposed.families import family
    >>> X, Y, opt = solve_fsmf_reference(np.diag([3.0, 2.0, 1.0]), family("full:3,3,1"))
    >>> opt
    5.0

    Notes
    -----
    Cost ``O(mn · #complete classes)`` Python steps on top of the SVDs.
    """
    A = as_data_matrix(A, pattern)
    cls = classify(pattern)
    _require_tractable(cls)
    m, n, r = pattern.shape
    X = np.zeros((m, r), dtype=A.dtype)
    Y = np.zeros((n, r), dtype=A.dtype)
    union = np.zeros((m, n), dtype=bool)
    for rows_k, cols_k in pattern.rank_one_supports():
        for i in rows_k:
            for j in cols_k:
                union[i, j] = True
    optimal = 0.0
    for i in range(m):
        for j in range(n):
            if not union[i, j]:
                optimal += abs(A[i, j]) ** 2
    for idx, c in enumerate(cls.classes):
        if c.complete:
            continue
        pieces = [(c.rows, c.cols)] if cls.dto else list(cls.bicliques.get(idx, ()))
        for rows, cols in pieces:
            U, s, Vh = np.linalg.svd(A[np.ix_(rows, cols)], full_matrices=False)
            k = min(c.size, len(s))
            for t in range(k):
                comp = c.components[t]
                for a, i in enumerate(rows):
                    X[i, comp] = U[a, t] * np.sqrt(s[t])
                for b, j in enumerate(cols):
                    Y[j, comp] = Vh[t, b] * np.sqrt(s[t])
            optimal += float(np.sum(s[k:] ** 2))
    left = A - X @ Y.T
    done = np.zeros((m, n), dtype=bool)
    for c in cls.classes:
        if not c.complete:
            continue
        target = np.zeros((len(c.rows), len(c.cols)), dtype=A.dtype)
        for a, i in enumerate(c.rows):
            for b, j in enumerate(c.cols):
                if not done[i, j]:
                    target[a, b] = left[i, j]
                    done[i, j] = True
        U, s, Vh = np.linalg.svd(target, full_matrices=False)
        for t in range(len(s)):
            X[list(c.rows), c.components[t]] = U[:, t] * np.sqrt(s[t])
            Y[list(c.cols), c.components[t]] = Vh[t, :] * np.sqrt(s[t])
    return X, Y, optimal
