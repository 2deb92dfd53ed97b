"""Planted instances shared by the tests: patterns with a known property and targets with a known optimum."""

from __future__ import annotations

import numpy as np
from wellposed.solvers.butterfly import FactorChain, KSFactor

from wellposed.classify import classify
from wellposed.kronecker_spec import parse_chain_spec
from wellposed.support import SupportPattern

__all__ = ["relaxed_instances", "planted", "random_chain", "planted_chain"]


def relaxed_instances(count: int, seed: int, max_dim: int = 5) -> list[SupportPattern]:
    """Seeded random patterns satisfying C1+C2 (not DTO) with at least one genuine truncation.

    "Genuine": some non-complete class has a biclique larger than its rank budget, so the theorem's
    value has a nonzero SVD tail that a wrong theorem could get wrong.
    """
    rng = np.random.default_rng(seed)
    out: list[SupportPattern] = []
    while len(out) < count:
        m, n = rng.integers(2, max_dim + 1, size=2)
        r = rng.integers(2, 6)
        d = rng.uniform(0.35, 0.8)
        p = SupportPattern(rng.random((m, r)) < d, rng.random((n, r)) < d)
        c = classify(p)
        if not c.relaxed:
            continue
        if any(min(len(rows), len(cols)) > c.classes[idx].size
               for idx, bl in c.bicliques.items() for rows, cols in bl):
            out.append(p)
    return out


def planted(p: SupportPattern, rng: np.random.Generator, complex_: bool = False, noise: float = 1.0):
    """``A = X0 Y0ᵀ`` on the union of the supports plus noise off it; returns (A, ‖noise‖²)."""
    def draw(shape):
        z = rng.standard_normal(shape)
        return z + 1j * rng.standard_normal(shape) if complex_ else z

    X0 = draw((p.m, p.r)) * p.x_support
    Y0 = draw((p.n, p.r)) * p.y_support
    off = draw((p.m, p.n)) * noise * ~p.union_mask()
    return X0 @ Y0.T + off, float(np.sum(np.abs(off) ** 2))


def random_chain(pats, rng, complex_=False):
    """A FactorChain with Gaussian entries on the patterns ``pats`` (complex when ``complex_``)."""
    facs = []
    for p in pats:
        d = rng.standard_normal(p.abcd)
        if complex_:
            d = d + 1j * rng.standard_normal(p.abcd)
        facs.append(KSFactor(p, d))
    return FactorChain(tuple(facs))


def planted_chain(spec, seed=0, complex_=False):
    """``(patterns, A)``: a random chain on the chain spec ``spec`` and its product (recovered exactly)."""
    pats = parse_chain_spec(spec).patterns
    ch = random_chain(pats, np.random.default_rng(seed), complex_)
    return pats, ch.to_dense()
