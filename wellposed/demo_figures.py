"""Figures of the LU demo (``wellposed demo lu``): the sequence, the training paths and the supports.

Drawn with matplotlib's Agg backend (no display needed) from the records of :mod:`wellposed.demo`, and
written atomically.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from .demo import (
    TrainingPaths,
    check_n,
    closed_contrast,
    contrast_pattern,
    gradient_descent,
    lu_pattern,
    lu_sequence,
    lu_target,
)
from .errors import InvalidSpecError

__all__ = ["plot_lu_demo"]


_FORMATS = ("png", "svg")
_MAX_DRAWN = 4


def _draw_mask(ax: Any, mask: np.ndarray, title: str, color: str) -> None:
    from matplotlib.colors import ListedColormap

    ax.imshow(mask.astype(float), cmap=ListedColormap(["white", color]), vmin=0, vmax=1)
    rows, cols = mask.shape
    ax.set_xticks(np.arange(cols))
    ax.set_yticks(np.arange(rows))
    ax.set_xticklabels([str(j + 1) for j in range(cols)], fontsize=6)
    ax.set_yticklabels([str(i + 1) for i in range(rows)], fontsize=6)
    ax.set_xticks(np.arange(cols + 1) - 0.5, minor=True)
    ax.set_yticks(np.arange(rows + 1) - 0.5, minor=True)
    ax.grid(which="minor", color="0.6", lw=0.6)
    ax.tick_params(which="both", length=0)
    ax.set_title(title, fontsize=8)


def _supports_figure(n: int, plt: Any) -> Any:
    """Masks and rank-one supports of LU (top row) and of the closed contrast (bottom row)."""
    lu, full = lu_pattern(n), contrast_pattern(n)
    shown = min(n, _MAX_DRAWN)
    fig, axes = plt.subplots(2, 2 + shown, figsize=(1.55 * (2 + shown) + 0.6, 3.9), squeeze=False)
    top = [("I: mask of X", lu.x_support), ("J: mask of Y", lu.y_support)]
    top += [(f"S{k + 1} = I{k + 1} × J{k + 1}", lu.support_mask(k)) for k in range(shown)]
    for ax, (title, mask) in zip(axes[0], top, strict=True):
        _draw_mask(ax, mask, title, "#c0392b")
    bottom = [("I: mask of X", full.x_support), ("J: mask of Y", full.y_support),
              ("S1 = ... = S" + str(n - 1) if n > 2 else "S1 = I1 × J1", full.support_mask(0))]
    for ax, (title, mask) in zip(axes[1], bottom, strict=False):
        _draw_mask(ax, mask, title, "#27ae60")
    for ax in axes[1, len(bottom):]:
        ax.axis("off")
    more = f" (first {shown} of {n} shown)" if n > shown else ""
    axes[0, 0].text(-0.25, 1.32, f"LU, r = {n}: supports S_k nested, S1 ⊃ S2 ⊃ …{more} — not closed",
                    transform=axes[0, 0].transAxes, fontsize=9, color="#c0392b")
    axes[1, 0].text(-0.25, 1.32, f"full, r = {n - 1}: all supports identical (rank ≤ {n - 1}) — closed",
                    transform=axes[1, 0].transAxes, fontsize=9, color="#27ae60")
    # n ≥ 2 gives at least 4 columns, so the bottom row always has a free axis for the legend
    axes[1, len(bottom)].text(0.0, 0.5, "X Yᵀ = Σ_k X[:,k] Y[:,k]ᵀ:\ncomponent k writes\nonly inside S_k",
                              fontsize=7, va="center", transform=axes[1, len(bottom)].transAxes)
    fig.subplots_adjust(left=0.06, right=0.98, bottom=0.06, top=0.84, wspace=0.35, hspace=0.65)
    return fig


def _save(fig: Any, path: Path, fmt: str, parameter: str = "out_dir") -> Path:
    """Write the figure atomically (temporary file, then rename) and close it."""
    import matplotlib.pyplot as plt

    from .io.outputs import atomic_output

    meta = {"Software": None} if fmt == "png" else {"Date": None, "Creator": None}
    try:
        with atomic_output(path, parameter) as tmp:
            fig.savefig(tmp, format=fmt, dpi=90, metadata=meta)
    finally:
        plt.close(fig)
    return path


def plot_lu_demo(out_dir: str | Path, *, n: int = 2, fmt: str = "png", steps: int = 20000,
                 seeds: Sequence[int] = (0, 1, 2),
                 training: tuple[TrainingPaths, TrainingPaths] | None = None,
                 parameter: str = "out_dir") -> dict[str, Path]:
    """Draw the demo's figures into ``out_dir`` and return ``{name: path}``.

    Figures: ``lu-sequence`` (error → 0 while the factor norms blow up, with the lower bound),
    ``lu-training`` (gradient descent on LU vs the closed contrast: loss and parameter norms),
    ``lu-supports`` (masks I, J and rank-one supports S_k of LU and of the contrast, drawn on a grid).
    ``training`` may pass precomputed ``(lu_runs, contrast_runs)`` from :func:`gradient_descent`
    (then ``steps`` and ``seeds`` are ignored). Every figure is written atomically; a folder or file that
    cannot be written raises :class:`~wellposed.errors.OutputError` naming ``parameter`` (the CLI passes
    ``--out``).

    Examples
    --------
    >>> import tempfile
    >>> with tempfile.TemporaryDirectory() as d:
    ...     sorted(plot_lu_demo(d, steps=200))
    ['lu-sequence', 'lu-supports', 'lu-training']

    Notes
    -----
    Uses the Agg backend (works without a display). Cost is dominated by the gradient descent runs,
    ``O(steps · len(seeds) · n³)``.
    """
    n = check_n(n)
    if fmt not in _FORMATS:
        raise InvalidSpecError(f"fmt = {fmt!r} is not supported; use one of {', '.join(_FORMATS)}.")
    out = Path(out_dir)
    if out.exists() and not out.is_dir():
        raise InvalidSpecError(f"{parameter} = {str(out_dir)!r} exists and is not a directory; give a directory "
                               "path (it is created if needed).")
    import matplotlib

    matplotlib.use("Agg", force=False)
    import matplotlib.pyplot as plt

    from .io.outputs import output_error

    try:
        out.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise output_error(parameter, out, exc) from None
    paths: dict[str, Path] = {}
    seq = lu_sequence(n, np.geomspace(1, 1e4, 41))
    contrast = closed_contrast(n)
    if training is None:
        lu_runs = gradient_descent(lu_target(n), lu_pattern(n), steps=steps, seeds=seeds)
        c_runs = gradient_descent(lu_target(n), contrast.pattern, steps=steps, seeds=seeds)
    else:
        lu_runs, c_runs = training
        if lu_runs.pattern != lu_pattern(n) or c_runs.pattern != contrast.pattern:
            raise InvalidSpecError(f"training = {training!r} must be the (LU, contrast) runs for n = {n}.")
    label = "[[0,1],[1,0]]" if n == 2 else f"diag([[0,1],[1,0]], I_{n - 2})"
    with matplotlib.rc_context({"svg.hashsalt": "wellposed-demo", "font.size": 8}):
        fig, (a1, a2, a3) = plt.subplots(1, 3, figsize=(10.5, 3.2))
        a1.loglog(seq.ks, seq.errors, "C3-", label="‖X_k Y_kᵀ − A‖_F = 1/k")
        a1.loglog(seq.ks, seq.loss, "C3:", label="loss ‖A − X_k Y_kᵀ‖²_F")
        a1.set_xlabel("k")
        a1.set_title("the products converge to A")
        a1.legend(fontsize=7)
        a2.loglog(seq.ks, seq.x_norms, "C0-", label="‖X_k‖_F")
        a2.loglog(seq.ks, seq.y_norms, "C1--", label="‖Y_k‖_F")
        a2.loglog(seq.ks, seq.x_norms * seq.y_norms, "k-", lw=0.8, label="‖X_k‖_F ‖Y_k‖_F")
        good = np.isfinite(seq.lower_bound)
        a2.loglog(seq.ks[good], seq.lower_bound[good], "k:", label="(1−δ)²/δ: bound for ANY LU")
        a2.set_xlabel("k")
        a2.set_title("…while the factors blow up")
        a2.legend(fontsize=7)
        k10 = int(np.argmin(np.abs(seq.ks - 10)))
        show = np.concatenate([seq.products[k10], np.full((n, 1), np.nan), seq.target], axis=1)
        a3.imshow(show, cmap="coolwarm", vmin=-1.2, vmax=1.2)
        for (i, j), v in np.ndenumerate(show):
            if np.isfinite(v):
                a3.text(j, i, f"{round(float(v), 9):g}", ha="center", va="center", fontsize=7)
        a3.set_xticks([])
        a3.set_yticks([])
        a3.set_title(f"X_k Y_kᵀ at k = {seq.ks[k10]:.0f}   |   A (no LU factors)")
        fig.suptitle(f"{n}×{n} LU: A = {label} is a limit of LU products but has no LU factorization")
        fig.subplots_adjust(left=0.05, right=0.99, bottom=0.15, top=0.82, wspace=0.25)
        paths["lu-sequence"] = _save(fig, out / f"lu-sequence.{fmt}", fmt, parameter)

        fig, (b1, b2) = plt.subplots(1, 2, figsize=(9, 3.2))
        x = np.maximum(lu_runs.steps, 1)
        for s in range(lu_runs.loss.shape[0]):
            first = s == 0
            b1.loglog(x, lu_runs.loss[s], "C3-", alpha=0.8, label="LU (inf 0, never attained)" if first else None)
            b1.loglog(x, c_runs.loss[s], "C2-", alpha=0.8,
                      label=f"rank ≤ {n - 1} (min {contrast.infimum:g}, attained)" if first else None)
            b2.loglog(x, np.hypot(lu_runs.x_norms[s], lu_runs.y_norms[s]), "C3-", alpha=0.8,
                      label="LU" if first else None)
            b2.loglog(x, np.hypot(c_runs.x_norms[s], c_runs.y_norms[s]), "C2-", alpha=0.8,
                      label=f"rank ≤ {n - 1}" if first else None)
        b1.axhline(contrast.infimum, color="C2", ls=":", lw=0.8)
        b1.set_xlabel("gradient step")
        b1.set_title("training loss ‖A − XYᵀ‖²_F")
        b1.legend(fontsize=7)
        b2.set_xlabel("gradient step")
        b2.set_title("parameter norm ‖(X, Y)‖_F")
        b2.legend(fontsize=7)
        fig.suptitle(f"gradient descent (lr {lu_runs.lr:g}, {lu_runs.loss.shape[0]} seeds) on the same A: "
                     "LU keeps drifting, the closed pattern converges")
        fig.subplots_adjust(left=0.07, right=0.98, bottom=0.15, top=0.82, wspace=0.2)
        paths["lu-training"] = _save(fig, out / f"lu-training.{fmt}", fmt, parameter)

        paths["lu-supports"] = _save(_supports_figure(n, plt), out / f"lu-supports.{fmt}", fmt, parameter)
    return paths
