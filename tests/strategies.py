"""Hypothesis strategies for random support patterns."""

from __future__ import annotations

import numpy as np
from hypothesis import strategies as st

from wellposed.support import SupportPattern


@st.composite
def patterns(draw, max_m: int = 4, max_n: int = 4, max_r: int = 4, min_dim: int = 1) -> SupportPattern:
    m = draw(st.integers(min_dim, max_m))
    n = draw(st.integers(min_dim, max_n))
    r = draw(st.integers(1, max_r))
    x = draw(st.lists(st.booleans(), min_size=m * r, max_size=m * r))
    y = draw(st.lists(st.booleans(), min_size=n * r, max_size=n * r))
    return SupportPattern(np.array(x).reshape(m, r), np.array(y).reshape(n, r))


@st.composite
def symmetries(draw, p: SupportPattern):
    """Random row, column and component permutations of ``p``."""
    rp = draw(st.permutations(range(p.m)))
    cp = draw(st.permutations(range(p.n)))
    kp = draw(st.permutations(range(p.r)))
    return rp, cp, kp
