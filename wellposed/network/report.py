"""The full report of a sparse network: per layer, per adjacent pair, per split, linear set and ReLU training."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from ..backends.registry import DEFAULT_BACKEND
from ..classify import Classification, classify
from ..errors import InvalidSpecError
from ..support import SupportPattern
from .linear_set import LinearSetVerdict, linear_set_verdict
from .masks import LayerInfo, _bool_matmul, layer_info, validate_masks
from .pairs import DEFAULT_ENGINE_LIMIT, _check_budget, _classified, _decide_pair, pair_pattern
from .relu import ReluReport, relu_report

__all__ = ["PairReport", "SplitReport", "NetworkReport", "analyze_network"]


@dataclass(frozen=True)
class PairReport:
    """The exact two-factor sub-problem of adjacent layers ``(ℓ+1, ℓ)``: tractability and closedness."""

    layers: tuple[int, int]
    pattern: SupportPattern
    tractable: bool
    tractable_method: str
    tractable_reason: str
    closedness: dict[str, Any]

    def to_json(self) -> dict[str, Any]:
        p = self.pattern
        return {"layers": list(self.layers), "m": p.m, "n": p.n, "r": p.r, "tractable": self.tractable,
                "tractable_method": self.tractable_method, "tractable_reason": self.tractable_reason,
                **self.closedness}


@dataclass(frozen=True)
class SplitReport:
    """Tractability of the whole network split after layer ``s``, with boolean-product supports (upper bound)."""

    after_layer: int
    m: int
    n: int
    r: int
    tractable: bool
    tractable_method: str
    tractable_reason: str

    def to_json(self) -> dict[str, Any]:
        return {"after_layer": self.after_layer, "m": self.m, "n": self.n, "r": self.r,
                "tractable": self.tractable, "tractable_method": self.tractable_method,
                "tractable_reason": self.tractable_reason,
                "note": "supports of the partial products are upper-bounded by boolean products of the masks"}


@dataclass(frozen=True)
class NetworkReport:
    """Everything :func:`analyze_network` found, as JSON-ready pieces."""

    layers: tuple[LayerInfo, ...]
    pairs: tuple[PairReport, ...]
    splits: tuple[SplitReport, ...]
    linear_set: LinearSetVerdict
    relu: ReluReport
    dead_neurons: tuple[tuple[int, int], ...]

    def to_json(self) -> dict[str, Any]:
        first, last = self.layers[0].shape, self.layers[-1].shape
        return {
            "num_layers": len(self.layers),
            "input_dim": first[1],
            "output_dim": last[0],
            "layers": [x.to_json() for x in self.layers],
            "pairs": [x.to_json() for x in self.pairs],
            "splits": [x.to_json() for x in self.splits],
            "dead_hidden_neurons": [list(t) for t in self.dead_neurons],
            "linear_set": self.linear_set.to_json(),
            "relu": self.relu.to_json(),
        }


def analyze_network(
    masks: Sequence[Any],
    *,
    names: Sequence[str] | None = None,
    closedness: bool = True,
    backend: str = DEFAULT_BACKEND,
    effort: float = 1.0,
    timeout: float | None = None,
    use_qe: bool = True,
    engine_limit: int | None = DEFAULT_ENGINE_LIMIT,
    progress: Callable[[int, int], None] | None = None,
) -> NetworkReport:
    """Analyze the layer masks of a sparse network before training.

    Parameters
    ----------
    masks : list of 0/1 arrays
        ``M_1, …, M_L``, first layer first, each ``out × in`` (torch ``Linear.weight`` layout).
    names : list of str, optional
        Layer names for messages and the report.
    closedness : bool
        Run the closedness engine on pairs that no tractability theorem decides (otherwise those
        pairs, and a linear set reduced to such a pair, are reported undecided).
    backend, effort, timeout, use_qe
        Passed to :func:`wellposed.closedness.decide_closedness` (counted budgets scaled by ``effort``;
        ``timeout`` is an optional wall-clock cap per pair, off by default).
    engine_limit : int or None
        Two-factor patterns with ``m·n·r`` above this are decided by the tractability theorems only
        (default None: no limit).
    progress : callable(done, total), optional
        Called after each adjacent pair is decided and after the linear set, with the steps done and
        ``total = L`` (the ``L − 1`` pairs, then the linear set).

    Returns
    -------
    NetworkReport
        Per layer (shape, density, empty rows/columns), per adjacent pair (exact two-factor pattern,
        tractability, closedness), per split of the whole network (tractability, boolean-product supports),
        hidden neurons that can never carry signal, the linear-set verdict and the ReLU report.

    Examples
    --------
    >>> rep = analyze_network([np.ones((4, 3)), np.array([[1, 0, 1, 1]])])
    >>> rep.relu.status, rep.linear_set.closed
    ('well-posed', True)

    Notes
    -----
    Per pair: two Gram products ``O((m + n) r²)`` plus the closedness engine (bounded by ``timeout`` and
    ``engine_limit``); per split a boolean matrix product; the linear set as in :func:`linear_set_verdict`.
    """
    ms = validate_masks(masks, names)
    labels = list(names) if names is not None else [f"layer {ell}" for ell in range(1, len(ms) + 1)]
    _check_budget(effort, timeout)
    if progress is not None and not callable(progress):
        raise InvalidSpecError(f"progress = {progress!r} must be None or a callable progress(done, total).")
    layers = tuple(layer_info(m, ell, labels[ell - 1]) for ell, m in enumerate(ms, start=1))
    memo: dict[SupportPattern, tuple[dict[str, Any], Any]] = {}  # the reduced pair is often an adjacent pair
    classified: dict[SupportPattern, Classification] = {}  # each distinct pair pattern is classified once
    pairs = []
    for ell in range(1, len(ms)):
        p = pair_pattern(ms[ell], ms[ell - 1], name=f"layers {ell + 1}·{ell}")
        c = _classified(p, classified)
        rec, _ = _decide_pair(p, closedness=closedness, backend=backend, timeout=timeout, effort=effort, use_qe=use_qe,
                              engine_limit=engine_limit, memo=memo, cache=classified)
        pairs.append(PairReport((ell, ell + 1), p, c.tractable, c.method, c.reason, rec))
        if progress is not None:
            progress(ell, len(ms))
    splits = []
    if len(ms) >= 3:  # products of the layers before and after each split, accumulated once each way
        before = [ms[0]]
        for m in ms[1:-1]:
            before.append(_bool_matmul(m, before[-1]))
        after = [ms[-1]]
        for m in reversed(ms[1:-1]):
            after.append(_bool_matmul(after[-1], m))
        for s in range(1, len(ms)):
            left, right = after[len(ms) - 1 - s], before[s - 1]
            c = classify(pair_pattern(left, right))
            splits.append(SplitReport(s, left.shape[0], right.shape[1], right.shape[0], c.tractable, c.method,
                                      c.reason))
    dead: list[tuple[int, int]] = []
    for ell in range(1, len(ms)):
        no_in = ~ms[ell - 1].any(axis=1)
        no_out = ~ms[ell].any(axis=0)
        dead.extend((ell, int(h)) for h in np.flatnonzero(no_in | no_out))
    linear = linear_set_verdict(ms, closedness=closedness, backend=backend, timeout=timeout, effort=effort,
                                use_qe=use_qe, engine_limit=engine_limit, _memo=memo, _cache=classified)
    if progress is not None:
        progress(len(ms), len(ms))
    relu = relu_report([layer.shape for layer in layers], linear)
    return NetworkReport(layers, tuple(pairs), tuple(splits), linear, relu, tuple(dead))
