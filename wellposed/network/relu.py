"""Well-posedness of training the sparse ReLU network: what is proven, what is open."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from .linear_set import LinearSetVerdict

__all__ = ["ReluReport", "relu_report", "RELU_REFERENCE"]

RELU_REFERENCE = ("Q.-T. Le, E. Riccietti, R. Gribonval, Does a sparse ReLU network training problem always "
                  "admit an optimum? NeurIPS 2023 (arXiv:2306.02666)")


@dataclass(frozen=True)
class ReluReport:
    """Well-posedness of training the sparse ReLU network: ``status`` is "well-posed", "ill-posed" or "open"."""

    status: str
    proven: tuple[str, ...]
    open: tuple[str, ...]

    def to_json(self) -> dict[str, Any]:
        return {"status": self.status, "proven": list(self.proven), "open": list(self.open),
                "reference": RELU_REFERENCE}


def relu_report(shapes: Sequence[tuple[int, int]], linear: LinearSetVerdict) -> ReluReport:
    """What is proven about training the ReLU network with these masks, and what is open.

    >>> v = LinearSetVerdict(True, "reduction:linear", "", ((1, 2),), ())
    >>> relu_report([(5, 3), (1, 5)], v).status
    'well-posed'
    """
    n_layers = len(shapes)
    out_dim = shapes[-1][0]
    proven: list[str] = []
    open_: list[str] = []
    lin = {True: "closed", False: "not closed", None: "undecided"}[linear.closed]
    if n_layers == 1:
        proven.append("one layer, no hidden ReLU: the model set is a linear space of matrices (closed), so "
                      "least-squares training attains its minimum")
        return ReluReport("well-posed", tuple(proven), ())
    if n_layers == 2 and out_dim == 1:
        proven.append("one hidden layer and output dimension 1: every training problem of this sparse ReLU "
                      "network on a finite data set has a global optimum, whatever the masks (NeurIPS 2023)")
        proven.append(f"linear set: {lin} ({linear.method})")
        return ReluReport("well-posed", tuple(proven), ())
    if linear.closed is False:
        proven.append("the linear set {W_L ⋯ W_1} is not closed (certificate attached); closedness is "
                      "necessary for well-posedness, so some finite data set makes training this ReLU network "
                      "have no optimum (NeurIPS 2023)")
        return ReluReport("ill-posed", tuple(proven), ())
    if linear.closed is True:
        proven.append(f"the necessary condition holds: the linear set is closed ({linear.method})")
        open_.append("whether every data set admits an optimum: closedness of the linear set is necessary, "
                     "not known to be sufficient, for networks with more than one hidden layer or more than one "
                     "output")
    else:
        open_.append("the necessary condition (closedness of the linear set) is undecided; see the linear-set "
                     "verdict for what was tried")
        open_.append("well-posedness of training for every data set")
    return ReluReport("open", tuple(proven), tuple(open_))

