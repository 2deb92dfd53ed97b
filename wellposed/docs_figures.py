"""The pictures of the documentation pages, drawn from code and data (``python -m wellposed.docs_tools figures``).

Every figure is computed by the library (support graphs, butterfly supports, a not-closed certificate,
an FSMF solution, a network report) or read from numbers already published: a table of a docs page or
the census data file. Nothing is typed in by hand. Drawing is deterministic: matplotlib's Agg backend,
fixed sizes, no timestamp or software name in the files (``metadata``), so that regenerating gives the
same bytes with the same matplotlib.
"""

from __future__ import annotations

import json
import re
from collections import Counter
from collections.abc import Callable, Sequence
from fractions import Fraction
from pathlib import Path
from typing import Any

import numpy as np

from .errors import InvalidSpecError
from .support import SupportPattern

__all__ = ["FIGURES", "write_figures", "markdown_table", "figure_names_of"]

_DPI = 80
_GREEN, _RED, _ORANGE, _BLUE, _GREY = "#27ae60", "#c0392b", "#e67e22", "#2e86c1", "#7f8c8d"
_ROOT = Path(__file__).resolve().parent.parent


# ---------------------------------------------------------------------------------------------- helpers
def markdown_table(text: str, heading: str) -> list[dict[str, str]]:
    """The first Markdown table after the line that starts with ``heading``, as a list of row dicts.

    >>> page = "# A\\n\\n## Numbers\\n\\n| t | err |\\n|---|---:|\\n| 3 | -2.5 |\\n| 4 | -3.5 |\\n"
    >>> markdown_table(page, "## Numbers")
    [{'t': '3', 'err': '-2.5'}, {'t': '4', 'err': '-3.5'}]
    """
    lines = text.splitlines()
    try:
        start = next(i for i, line in enumerate(lines) if line.startswith(heading))
    except StopIteration:
        raise InvalidSpecError(f"heading {heading!r} not found in the page; the figure reads the table under "
                               "it (was the heading renamed?).") from None
    rows: list[list[str]] = []
    for line in lines[start + 1:]:
        if line.startswith("|"):
            rows.append([c.strip() for c in line.strip().strip("|").split("|")])
        elif rows or line.startswith("#"):
            break
    if len(rows) < 3:
        raise InvalidSpecError(f"no Markdown table under {heading!r}.")
    head = rows[0]
    return [dict(zip(head, r, strict=False)) for r in rows[2:]]


def _pyplot() -> Any:
    import matplotlib

    matplotlib.use("Agg", force=False)
    import matplotlib.pyplot as plt

    return plt


def _draw_mask(ax: Any, mask: np.ndarray, title: str, cmap: Any = "Greys", vmax: float = 1.0) -> Any:
    im = ax.imshow(mask.astype(float), cmap=cmap, vmin=0, vmax=vmax, interpolation="nearest")
    rows, cols = mask.shape
    if max(rows, cols) <= 16:
        ax.set_xticks(np.arange(cols + 1) - 0.5, minor=True)
        ax.set_yticks(np.arange(rows + 1) - 0.5, minor=True)
        ax.grid(which="minor", color="0.75", lw=0.5)
    ax.set_xticks([])
    ax.set_yticks([])
    ax.tick_params(which="both", length=0)
    ax.set_title(title, fontsize=8)
    return im


def _coverage(p: SupportPattern) -> np.ndarray:
    """How many rank-one supports ``S_k = I_k × J_k`` cover each entry of the product."""
    return p.x_support.astype(int) @ p.y_support.astype(int).T


# ---------------------------------------------------------------------------------------------- the figures
def _support_graphs(plt: Any) -> Any:
    """theory.md: coverage of the product and rank-one support graph, for a closed and a not-closed pattern."""
    from .closedness import decide_closedness
    from .families import family
    from .graph import support_graph

    specs = ["full:3,3,2", "mcp:110,011,111", "lu:3"]
    colors = {"identical": _GREEN, "nested": _RED, "partial": _ORANGE}
    fig, axes = plt.subplots(2, len(specs), figsize=(2.3 * len(specs), 4.4))
    for col, spec in enumerate(specs):
        p = family(spec)
        cov = _coverage(p)
        _draw_mask(axes[0, col], cov, f"{spec}: supports per entry", cmap="Blues", vmax=max(1, int(cov.max())))
        for (i, j), v in np.ndenumerate(cov):
            axes[0, col].text(j, i, str(v), ha="center", va="center", fontsize=7)
        g = support_graph(p)
        ax = axes[1, col]
        nodes = sorted(g.nodes)
        angle = {k: 2 * np.pi * t / max(1, len(nodes)) + np.pi / 2 for t, k in enumerate(nodes)}
        pos = {k: (np.cos(a), np.sin(a)) for k, a in angle.items()}
        for a, b, rel in sorted(g.edges(data="relation")):
            (x0, y0), (x1, y1) = pos[a], pos[b]
            ax.plot([x0, x1], [y0, y1], color=colors[rel], lw=2)
            ax.text((x0 + x1) / 2, (y0 + y1) / 2, rel, fontsize=6, ha="center", va="center",
                    bbox={"fc": "white", "ec": "none", "pad": 0.5})
        for k, (x, y) in pos.items():
            ax.scatter([x], [y], s=260, color="white", edgecolor="black", zorder=3)
            ax.text(x, y, f"S{k + 1}", ha="center", va="center", fontsize=7, zorder=4)
        v = decide_closedness(p)
        verdict = "closed" if v.closed else ("not closed" if v.closed is False else "undecided")
        ax.set_title(f"support graph: {verdict}", fontsize=8, color=_GREEN if v.closed else _RED)
        ax.set_xlim(-1.5, 1.5)
        ax.set_ylim(-1.5, 1.5)
        ax.set_aspect("equal")
        ax.axis("off")
    fig.suptitle("Rank-one supports S_k = I_k × J_k and how they meet (edges: identical / nested / partial)",
                 fontsize=9)
    fig.tight_layout(rect=(0, 0, 1, 0.95))
    return fig


def _decision_table(plt: Any) -> Any:
    """decision-table.md: one coverage picture per structure, framed by its closedness verdict."""
    from .classify import classify
    from .docs_tools import DECISION_ROWS, _closedness, _decision_pattern

    n = len(DECISION_ROWS)
    ncols = 5
    nrows = -(-n // ncols)
    fig, axes = plt.subplots(nrows, ncols, figsize=(2.1 * ncols, 2.7 * nrows), squeeze=False)
    patterns = [_decision_pattern(row.spec) for row in DECISION_ROWS]
    top = max(int(_coverage(p).max()) for p in patterns)  # one colour scale for every panel
    for ax, row, p in zip(axes.flat, DECISION_ROWS, patterns, strict=False):
        cov = _coverage(p)
        _draw_mask(ax, cov, "", cmap="Blues", vmax=top)
        closed, _ = _closedness(p)
        tract = "tractable" if classify(p).tractable else "not tractable"
        color = _GREEN if closed == "yes" else _RED
        for side in ax.spines.values():
            side.set_edgecolor(color)
            side.set_linewidth(2.5)
        title = row.structure if len(row.structure) <= 24 else row.structure[:22] + "…"
        ax.set_title(f"{title}\n{tract}, closed: {closed}", fontsize=7, color=color)
    for ax in list(axes.flat)[n:]:
        ax.axis("off")
    fig.suptitle(f"Supports per entry of X Yᵀ for each structure (white 0 … dark blue {top} overlapping "
                 "rank-one supports)", fontsize=9)
    fig.tight_layout(rect=(0, 0, 1, 0.95), h_pad=2.0)
    return fig


def _butterfly_supports(plt: Any) -> Any:
    """butterfly.md: the four factors of the 16×16 dyadic butterfly and their product's support."""
    from .kronecker import dyadic_butterfly

    pats = dyadic_butterfly(16)
    fig, axes = plt.subplots(1, len(pats) + 1, figsize=(2.0 * (len(pats) + 1), 2.5))
    prod = np.eye(16, dtype=int)
    for ax, (ell, pat) in zip(axes, enumerate(pats, start=1), strict=False):
        mask = pat.mask().astype(int)
        prod = (prod @ mask > 0).astype(int)
        _draw_mask(ax, mask, f"F{ell} = ks{pat.abcd}\n{int(mask.sum())} entries")
    _draw_mask(axes[-1], prod, f"F1 F2 F3 F4\n{int(prod.sum())} entries (dense)", vmax=2.5)
    fig.suptitle("butterfly:16 — four Kronecker-sparse factors (a, b, c, d): I_a ⊗ 1_{b×c} ⊗ I_d", fontsize=9)
    fig.tight_layout(rect=(0, 0, 1, 0.9))
    return fig


def _closedness_curve(plt: Any) -> Any:
    """closedness.md: the certificate curve of LU 2×2 evaluated along ε → 0."""
    from .closedness import decide_closedness
    from .families import family

    v = decide_closedness(family("lu:2"))
    cert = v.certificate
    if cert is None:  # the engine always certifies lu:2; a change there must not draw an empty figure
        raise InvalidSpecError("decide_closedness('lu:2') returned no certificate; the figure needs one.")
    p = cert.pattern

    def curve(c: Any, shape: tuple[int, int], eps: float) -> np.ndarray:
        M = np.zeros(shape)
        for (i, k), poly in c.items():
            M[i, k] = sum(float(coef) * eps ** e for e, coef in poly)
        return M

    limit = np.array([[float(Fraction(x)) for x in row] for row in cert.limit], dtype=float)
    eps = np.logspace(-6, 0, 61)
    xs, ys, gaps = [], [], []
    for e in eps:
        X, Y = curve(cert.x_curve, (p.m, p.r), e), curve(cert.y_curve, (p.n, p.r), e)
        xs.append(np.linalg.norm(X))
        ys.append(np.linalg.norm(Y))
        gaps.append(np.linalg.norm(X @ Y.T - limit))
    fig, ax = plt.subplots(figsize=(5.6, 3.4))
    ax.loglog(eps, xs, color=_RED, label="‖X(ε)‖_F")
    ax.loglog(eps, ys, color=_ORANGE, ls="--", label="‖Y(ε)‖_F")
    ax.loglog(eps, gaps, color=_BLUE, label="‖X(ε) Y(ε)ᵀ − A*‖_F")
    ax.invert_xaxis()
    ax.set_xlabel("ε (→ 0 to the right)")
    ax.set_title("LU 2×2: the certificate's curve reaches A* = [[0,1],[1,0]] while the factors blow up",
                 fontsize=8)
    ax.grid(True, which="major", lw=0.4)
    ax.legend(fontsize=7)
    fig.tight_layout()
    return fig


def _fsmf_blocks(plt: Any) -> Any:
    """fsmf.md: the optimal FSMF of a random A on a block pattern — A, X Yᵀ and the blocks solved by SVDs."""
    from .docs_tools import _block_pattern
    from .solvers.fsmf import solve_fsmf

    p = _block_pattern()
    A = np.random.default_rng(0).standard_normal((p.m, p.n))
    res = solve_fsmf(A, p)
    fig, axes = plt.subplots(1, 3, figsize=(7.2, 2.9))
    lim = float(np.abs(A).max())
    axes[0].imshow(A, cmap="RdBu", vmin=-lim, vmax=lim)
    axes[0].set_title("A (random, seed 0)", fontsize=8)
    axes[1].imshow(res.X @ res.Y.T, cmap="RdBu", vmin=-lim, vmax=lim)
    axes[1].set_title(f"X Yᵀ: residual {res.residual:.3f}\n= certified optimum {res.optimal_value:.3f}", fontsize=8)
    _draw_mask(axes[2], _coverage(p) > 0, "blocks: one truncated SVD each", vmax=4.0)
    from matplotlib.patches import Rectangle

    for b in res.blocks:
        r0, c0 = min(b.rows), min(b.cols)
        axes[2].add_patch(Rectangle((c0 - 0.5, r0 - 0.5), len(b.cols), len(b.rows), fill=False, ec=_RED, lw=2))
        axes[2].text(c0 + len(b.cols) / 2 - 0.5, r0 + len(b.rows) / 2 - 0.5, f"{b.kind}\nrank {b.rank}",
                     ha="center", va="center", fontsize=7, color=_RED)
    for ax in axes[:2]:
        ax.set_xticks([])
        ax.set_yticks([])
    fig.suptitle(f"solve_fsmf on {p.name}", fontsize=9)
    fig.tight_layout(rect=(0, 0, 1, 0.92))
    return fig


def _networks_pairs(plt: Any) -> Any:
    """networks.md: a sparse network drawn layer by layer, each adjacent pair marked with its verdict."""
    from .io.masks import load_masks
    from .network import analyze_network

    loaded = load_masks([str(_ROOT / "cases" / "networks" / "lu-chain-3.json")])
    masks = [np.asarray(m, dtype=bool) for m in loaded.masks]
    rep = analyze_network(masks)
    widths = [masks[0].shape[1]] + [m.shape[0] for m in masks]
    fig, ax = plt.subplots(figsize=(7.4, 3.6))
    ys = [np.linspace(1, -1, w) if w > 1 else np.zeros(1) for w in widths]
    for ell, m in enumerate(masks):
        for o, i in zip(*np.nonzero(m), strict=True):
            ax.plot([ell, ell + 1], [ys[ell][i], ys[ell + 1][o]], color=_GREY, lw=1.2, zorder=1)
    for x, col in enumerate(ys):
        ax.scatter(np.full(len(col), x), col, s=140, color="white", edgecolor="black", zorder=3)
    for x in range(len(masks)):
        ax.text(x + 0.5, 1.3, f"W{x + 1}", ha="center", fontsize=8)
    for k, pr in enumerate(rep.pairs):
        a, b = pr.layers
        closed = pr.closedness.get("closed") if isinstance(pr.closedness, dict) else None
        color = _GREEN if closed else (_RED if closed is False else _GREY)
        y = -1.35 - 0.5 * (k % 2)
        ax.annotate("", xy=(a - 1 + 0.05, y), xytext=(b - 0.05, y),
                    arrowprops={"arrowstyle": "|-|", "color": color, "lw": 1.5})
        word = {True: "closed", False: "NOT closed", None: "undecided"}[closed]
        ax.text((a + b - 1) / 2, y - 0.06, f"pair W{b}·W{a}: {word}", ha="center", va="top", fontsize=7,
                color=color)
    lin = rep.linear_set
    word = {True: "closed", False: "NOT closed", None: "undecided"}[lin.closed]
    ax.set_title(f"cases/networks/lu-chain-3.json (I, upper, lower, I): linear set {{W4 W3 W2 W1}} {word}",
                 fontsize=9, color=_GREEN if lin.closed else _RED)
    ax.set_xlim(-0.3, len(masks) + 0.3)
    ax.set_ylim(-2.3, 1.5)
    ax.axis("off")
    fig.tight_layout()
    return fig


def _census(plt: Any) -> Any:
    """census.md: verdicts of the census data file by method (counted from the records)."""
    path = _ROOT / "cases" / "census" / "closedness-m3n3r3.jsonl"
    latest: dict[str, dict[str, Any]] = {}
    with open(path, encoding="utf-8") as fh:
        for line in fh:
            rec = json.loads(line)
            if "key" in rec:
                latest[rec["key"]] = rec
    counts = Counter((rec["method"], rec["closed"]) for rec in latest.values())
    items = sorted(counts.items(), key=lambda kv: (-kv[1], kv[0][0]))
    colors = {True: _GREEN, False: _RED, None: _GREY}
    fig, ax = plt.subplots(figsize=(6.4, 3.6))
    labels = [m for (m, _), _ in items]
    ax.barh(range(len(items)), [c for _, c in items], color=[colors[v] for (_, v), _ in items])
    for y, (_, c) in enumerate(items):
        ax.text(c + 4, y, str(c), va="center", fontsize=7)
    ax.set_yticks(range(len(items)))
    ax.set_yticklabels(labels, fontsize=7)
    ax.invert_yaxis()
    ax.set_xlabel("patterns")
    total = len(latest)
    ax.set_title(f"Census of {total} patterns (m, n, r ≤ 3): closed green, not closed red, undecided grey",
                 fontsize=8)
    fig.tight_layout()
    return fig


def _quantization(plt: Any) -> Any:
    """quantization.md: worst relative error vs t, read from the page's own measurement table."""
    rows = markdown_table((_ROOT / "docs" / "quantization.md").read_text(encoding="utf-8"),
                          "### Worst observed relative error vs t")
    t = [int(r["t"]) for r in rows]
    fig, ax = plt.subplots(figsize=(5.6, 3.4))
    styles = {"naive": "--", "optimal": "-"}
    palette = {"2x2": _RED, "16x16": _ORANGE, "256x256": _BLUE}
    ax.plot(t, [float(r["scalar"]) for r in rows], color="black", lw=1, label="scalar")
    for size, color in palette.items():
        for kind, ls in styles.items():
            ax.plot(t, [float(r[f"{size} {kind}"]) for r in rows], color=color, ls=ls, marker="o", ms=3,
                    label=f"{size} {kind}")
    ax.set_xlabel("t (bits of mantissa)")
    ax.set_ylabel("log2 worst relative error")
    ax.set_title("Rank-one quantization: optimal vs naive (numbers of the table below)", fontsize=8)
    ax.grid(True, lw=0.4)
    ax.legend(fontsize=6, ncol=2)
    fig.tight_layout()
    return fig


def _qe_encodings(plt: Any) -> Any:
    """qe.md: seconds per encoding variant, read from the page's measurement table."""
    rows = markdown_table((_ROOT / "docs" / "qe.md").read_text(encoding="utf-8"), "### Which encoding matters")
    every = {r["encodings"] for r in rows}
    cases = [c for c in dict.fromkeys(r["case"] for r in rows)  # the cases measured with every variant
             if {r["encodings"] for r in rows if r["case"] == c} == every]
    fig, axes = plt.subplots(1, len(cases), figsize=(3.4 * len(cases), 3.4), sharex=True, squeeze=False)
    for ax, case in zip(axes[0], cases, strict=True):
        mine = [r for r in rows if r["case"] == case]
        colors = [_GREY if r["answer"] == "undecided" else (_GREEN if r["answer"] == "closed" else _RED)
                  for r in mine]
        ax.barh(range(len(mine)), [float(r["seconds"]) for r in mine], color=colors)
        ax.set_yticks(range(len(mine)))
        ax.set_yticklabels([r["encodings"] for r in mine], fontsize=7)
        ax.invert_yaxis()
        ax.set_xscale("log")
        ax.set_title(case, fontsize=8)
        ax.set_xlabel("seconds", fontsize=7)
    fig.suptitle("z3 QE by encoding: red not closed, green closed, grey undecided in the budget", fontsize=9)
    fig.tight_layout(rect=(0, 0, 1, 0.93))
    return fig


def _benchmarks_butterfly(plt: Any) -> Any:
    """benchmarks.md: butterfly factorization times of the same-run table with lazylinop's ksd."""
    rows = markdown_table((_ROOT / "docs" / "benchmarks.md").read_text(encoding="utf-8"),
                          "### Butterfly factorization against pyfaust and lazylinop")
    sizes = sorted({int(r["N"]) for r in rows})
    targets = list(dict.fromkeys(r["target"] for r in rows))
    methods = list(dict.fromkeys(r["method"] for r in rows))
    palette = [_GREEN, "#1e8449", "#82e0aa", _ORANGE, "#f5b041", _BLUE]
    fig, axes = plt.subplots(1, len(sizes), figsize=(4.2 * len(sizes), 4.0), squeeze=False)
    width = 0.8 / len(methods)
    for ax, N in zip(axes[0], sizes, strict=True):
        for k, method in enumerate(methods):
            vals = []
            for tgt in targets:
                hit = [r for r in rows if int(r["N"]) == N and r["target"] == tgt and r["method"] == method]
                vals.append(float(hit[0]["seconds"].split()[0]) if hit else np.nan)
            ax.bar(np.arange(len(targets)) + (k - (len(methods) - 1) / 2) * width, vals, width,
                   color=palette[k % len(palette)], label=method)
        ax.set_xticks(range(len(targets)))
        ax.set_xticklabels(targets, fontsize=8)
        ax.set_yscale("log")
        ax.set_ylabel("seconds (log)", fontsize=8)
        ax.set_title(f"N = {N}", fontsize=9)
        ax.grid(True, axis="y", lw=0.4)
    handles, labels = axes[0, 0].get_legend_handles_labels()
    fig.legend(handles, labels, loc="lower center", ncol=3, fontsize=7, frameon=False)
    fig.suptitle("Butterfly factorization, one run per size (numbers of the table above)", fontsize=9)
    fig.tight_layout(rect=(0, 0.14, 1, 0.93))
    return fig


#: ``{file name in docs/figures/: (drawing function, docs page that shows it)}``.
FIGURES: dict[str, tuple[Callable[[Any], Any], str]] = {
    "theory-support-graphs.png": (_support_graphs, "theory.md"),
    "decision-table.png": (_decision_table, "decision-table.md"),
    "butterfly-supports.png": (_butterfly_supports, "butterfly.md"),
    "closedness-lu-certificate.png": (_closedness_curve, "closedness.md"),
    "fsmf-blocks.png": (_fsmf_blocks, "fsmf.md"),
    "networks-pairs.png": (_networks_pairs, "networks.md"),
    "census-methods.png": (_census, "census.md"),
    "quantization-error-vs-bits.png": (_quantization, "quantization.md"),
    "qe-encodings.png": (_qe_encodings, "qe.md"),
    "benchmarks-butterfly.png": (_benchmarks_butterfly, "benchmarks.md"),
}


def write_figures(out_dir: str | Path = "docs/figures", names: Sequence[str] | None = None) -> list[Path]:
    """Draw the figures of :data:`FIGURES` (or only ``names``) into ``out_dir``; returns the written paths.

    PNG at a fixed size and resolution, written atomically, with no date or software name in the file.

    Examples
    --------
    >>> import tempfile
    >>> with tempfile.TemporaryDirectory() as d:
    ...     [p.name for p in write_figures(d, ["butterfly-supports.png"])]
    ['butterfly-supports.png']

    Notes
    -----
    About a second per figure (the support-graph and decision-table figures run the closedness engine
    on their small patterns).
    """
    from .io.outputs import atomic_output

    chosen = list(FIGURES) if names is None else list(names)
    unknown = [n for n in chosen if n not in FIGURES]
    if unknown:
        raise InvalidSpecError(f"names = {unknown!r}: unknown figure(s); choose from {sorted(FIGURES)!r}.")
    out = Path(out_dir)
    plt = _pyplot()
    written = []
    with plt.rc_context({"font.size": 8, "svg.hashsalt": "wellposed", "path.simplify": True}):
        for name in chosen:
            draw, _ = FIGURES[name]
            fig = draw(plt)
            try:
                with atomic_output(out / name, "out_dir") as tmp:
                    fig.savefig(tmp, format="png", dpi=_DPI, metadata={"Software": None})
            finally:
                plt.close(fig)
            written.append(out / name)
    return written


def figure_names_of(page_text: str) -> list[str]:
    """The image paths a Markdown page references (``![alt](path)``), in order.

    >>> figure_names_of("text ![a](figures/x.png) and ![b](figures/cases/y.png)")
    ['figures/x.png', 'figures/cases/y.png']
    """
    return re.findall(r"!\[[^\]]*\]\(([^)\s]+)\)", page_text)
