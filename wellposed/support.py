"""The support pattern model: masks I (of X) and J (of Y) for A ≈ X Yᵀ.

Convention used everywhere in wellposed: ``A`` is m×n, ``X`` is m×r with mask ``I`` (``x_support``),
``Y`` is n×r with mask ``J`` (``y_support``), and the product is ``X @ Y.T``. Column k of the
factorization has the rank-one support ``S_k = I_k × J_k``. LU is ``I = J = lower-triangular ones``.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from .errors import InvalidSupportError
from .memory import check_memory, count_product

__all__ = [
    "SupportPattern",
    "as_mask",
    "tensor_as_numpy",
]


def tensor_as_numpy(value: Any, parameter: str, *, what: str | None = None, fix: str = "Use a smaller mask") -> Any:
    """``value`` as a numpy array if it is a torch tensor (detached, on the CPU, sparse layouts densified after a
    memory check, bfloat16/float8 widened to float32), else ``value`` unchanged. Torch is never imported here:
    a tensor exists only if torch already is.

    A parameter or a tensor that requires grad is read as its values (``numpy.asarray`` refuses it).
    ``what`` names the tensor and ``fix`` the remedy in the memory error of a sparse tensor.
    """
    import sys

    torch = sys.modules.get("torch")
    if torch is None or not isinstance(value, torch.Tensor):
        return value
    shape = tuple(int(t) for t in value.shape)
    if value.layout != torch.strided:
        name = what or f"the sparse {'×'.join(map(str, shape))} tensor"
        check_memory(int(np.prod(shape, dtype=np.float64)) * (value.element_size() + 4),
                     f"the dense form of {name} ({value.layout})", parameter, fix)
        value = value.to_dense()
    value = value.detach().to("cpu")
    if value.is_floating_point() and value.dtype not in (torch.float16, torch.float32, torch.float64):
        value = value.to(torch.float32)
    return value.numpy()

def as_mask(value: Any, parameter: str) -> np.ndarray:
    """Convert ``value`` to a read-only 2-D boolean mask, or raise :class:`InvalidSupportError`.

    Accepts numpy arrays (bool or 0/1 numbers), nested lists of 0/1, lists of strings of
    ``'0'``/``'1'`` characters, scipy.sparse matrices and torch tensors (:func:`tensor_as_numpy`).

    Examples
    --------
    >>> as_mask(["10", "11"], "x_support").astype(int).tolist()
    [[1, 0], [1, 1]]
    >>> as_mask([[1, 2]], "x_support")
    Traceback (most recent call last):
    ...
    wellposed.errors.InvalidSupportError: x_support has entry 2 at (0, 1); a support mask may only \
contain 0/1 (or False/True): replace nonzero weights by 1, e.g. (mask != 0).
    """
    value = tensor_as_numpy(value, parameter)
    if hasattr(value, "toarray") and hasattr(value, "nnz"):  # scipy.sparse, without importing scipy
        n_rows, n_cols = (int(t) for t in value.shape)
        check_memory(n_rows * n_cols * (np.dtype(value.dtype).itemsize + 2), f"the dense {n_rows}×{n_cols} form of "
                     "the sparse matrix", parameter, "Use a smaller mask")
        value = value.toarray()
    if isinstance(value, np.ndarray):
        arr = value
    else:
        if isinstance(value, (str, bytes)):
            raise InvalidSupportError(
                f"{parameter} is a single string {value!r}; give a list of rows, e.g. ['10', '11']."
            )
        try:
            rows = list(value)
        except TypeError:
            raise InvalidSupportError(
                f"{parameter} = {value!r} is not a 2-D 0/1 array; give a numpy array, a list of "
                "rows of 0/1, or a list of strings such as ['10', '11']."
            ) from None
        if rows and all(isinstance(row, str) for row in rows):
            lengths = {len(row) for row in rows}
            if len(lengths) > 1:
                raise InvalidSupportError(
                    f"{parameter} has ragged rows (lengths {sorted(lengths)}): every row must have "
                    "one character per component r."
                )
            bad = [(i, j, ch) for i, row in enumerate(rows) for j, ch in enumerate(row) if ch not in "01"]
            if bad:
                i, j, ch = bad[0]
                raise InvalidSupportError(
                    f"{parameter} row {i} = {rows[i]!r} has character {ch!r} at position {j}; rows "
                    "are strings of '0' and '1' only."
                )
            arr = np.array([[ch == "1" for ch in row] for row in rows], dtype=bool).reshape(len(rows), -1)
        else:
            lengths = set()
            for row in rows:
                try:
                    lengths.add(len(row))
                except TypeError:
                    raise InvalidSupportError(
                        f"{parameter} = {value!r} is not 2-D: each row must be a sequence of 0/1."
                    ) from None
            if len(lengths) > 1:
                raise InvalidSupportError(
                    f"{parameter} has ragged rows (lengths {sorted(lengths)}): every row must have r entries."
                )
            try:
                arr = np.asarray(rows)
            except (ValueError, TypeError) as exc:
                raise InvalidSupportError(f"{parameter} could not be read as a 0/1 array: {exc}") from None
    if arr.ndim != 2:
        raise InvalidSupportError(
            f"{parameter} must be 2-D (rows × components), got an array of shape {arr.shape}."
        )
    if arr.shape[0] == 0 or arr.shape[1] == 0:
        raise InvalidSupportError(
            f"{parameter} has shape {arr.shape}: a support needs at least one row and one component."
        )
    if arr.dtype != bool:
        if arr.dtype.kind not in "biuf":
            raise InvalidSupportError(
                f"{parameter} has dtype {arr.dtype}; use bool or 0/1 integers."
            )
        bad_idx = np.argwhere((arr != 0) & (arr != 1))
        if bad_idx.size:
            i, j = (int(t) for t in bad_idx[0])
            entry = arr[i, j].item()
            raise InvalidSupportError(
                f"{parameter} has entry {entry!r} at ({i}, {j}); a support mask may only contain 0/1 "
                "(or False/True): replace nonzero weights by 1, e.g. (mask != 0)."
            )
        arr = arr != 0
    out = np.array(arr, dtype=bool, copy=True)
    out.setflags(write=False)
    return out


@dataclass(frozen=True, eq=False)
class SupportPattern:
    """Support masks of an FSMF problem ``A ≈ X Yᵀ`` (immutable, validated).

    Parameters
    ----------
    x_support : array-like of 0/1, shape (m, r)
        ``I``: allowed entries of ``X``.
    y_support : array-like of 0/1, shape (n, r)
        ``J``: allowed entries of ``Y``.
    name, description, source : str
        Free-text metadata (catalogue name, what it is, where it comes from).
    expected : mapping, optional
        Expected verdicts, e.g. ``{"tractable": True, "closed": True}`` (used by the catalogue).

    Examples
    --------
    >>> p = SupportPattern(["10", "11"], ["10", "11"], name="lu2")
    >>> p.shape
    (2, 2, 2)
    >>> p.rank_one_supports()
    [((0, 1), (0, 1)), ((1,), (1,))]
    """

    x_support: np.ndarray
    y_support: np.ndarray
    name: str = ""
    description: str = ""
    source: str = ""
    expected: Mapping[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        x = as_mask(self.x_support, "x_support")
        y = as_mask(self.y_support, "y_support")
        if x.shape[1] != y.shape[1]:
            raise InvalidSupportError(
                f"x_support has r = {x.shape[1]} components but y_support has r = {y.shape[1]}; both "
                "masks need one column per rank-one component (X is m×r, Y is n×r)."
            )
        object.__setattr__(self, "x_support", x)
        object.__setattr__(self, "y_support", y)
        if not isinstance(self.expected, Mapping):
            raise InvalidSupportError(f"expected = {self.expected!r} must be a mapping of verdict names.")
        object.__setattr__(self, "expected", dict(self.expected))

    # ------------------------------------------------------------------ basic views
    @property
    def m(self) -> int:
        """Number of rows of A (and of X)."""
        return int(self.x_support.shape[0])

    @property
    def n(self) -> int:
        """Number of columns of A (rows of Y)."""
        return int(self.y_support.shape[0])

    @property
    def r(self) -> int:
        """Number of rank-one components (columns of X and Y)."""
        return int(self.x_support.shape[1])

    @property
    def shape(self) -> tuple[int, int, int]:
        """``(m, n, r)``."""
        return (self.m, self.n, self.r)

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, SupportPattern):
            return NotImplemented
        return bool(
            self.x_support.shape == other.x_support.shape
            and self.y_support.shape == other.y_support.shape
            and np.array_equal(self.x_support, other.x_support)
            and np.array_equal(self.y_support, other.y_support)
        )

    def __hash__(self) -> int:
        cached = self.__dict__.get("_hash")
        if cached is None:  # the masks are read-only: hash them once
            cached = hash((self.x_support.shape, self.y_support.shape, self.x_support.tobytes(),
                           self.y_support.tobytes()))
            object.__setattr__(self, "_hash", cached)
        return int(cached)

    def __repr__(self) -> str:
        label = f" {self.name!r}" if self.name else ""
        return f"<SupportPattern{label} m={self.m} n={self.n} r={self.r}>"

    def rank_one_supports(self) -> list[tuple[tuple[int, ...], tuple[int, ...]]]:
        """``[(I_k, J_k)]``: row indices allowed in column k of X and of Y."""
        return [
            (tuple(int(i) for i in np.flatnonzero(self.x_support[:, k])),
             tuple(int(j) for j in np.flatnonzero(self.y_support[:, k])))
            for k in range(self.r)
        ]

    def support_mask(self, k: int) -> np.ndarray:
        """The m×n boolean mask of the rank-one support ``S_k = I_k × J_k``."""
        return np.outer(self.x_support[:, k], self.y_support[:, k])

    def union_mask(self) -> np.ndarray:
        """The m×n mask of entries reachable by some component: ``∪_k S_k``."""
        return self.coverage() > 0

    def coverage(self) -> np.ndarray:
        """The m×n integer matrix counting components covering each entry (``I Jᵀ``).

        A sparse product when the supports are small (work ``Σ_k |I_k| |J_k|``, the total size of the
        rank-one supports), a dense BLAS product when that is cheaper (``m n r``).
        """
        x, y = self.x_support, self.y_support
        sparse_work = int(x.sum(axis=0, dtype=np.int64) @ y.sum(axis=0, dtype=np.int64))
        if 150 * sparse_work >= self.m * self.n * self.r:
            if self.r < 2**24:  # counts ≤ r are exact in float32: half the memory and twice the BLAS speed
                check_memory(4 * (self.m * self.r + self.n * self.r) + 12 * self.m * self.n,
                             f"the {self.m}×{self.n} coverage counts", repr(self), "Use a smaller pattern")
                return np.rint(x.astype(np.float32) @ y.T.astype(np.float32)).astype(np.int64)
            return count_product(x, y.T)
        from scipy import sparse

        check_memory(12 * sparse_work + 8 * self.m * self.n, f"the {self.m}×{self.n} coverage counts",
                     repr(self), "Use a smaller pattern")
        product = sparse.csr_matrix(x, dtype=np.int32) @ sparse.csr_matrix(y.T, dtype=np.int32)
        return np.asarray(product.toarray(), dtype=np.int64)

    def empty_components(self) -> np.ndarray:
        """Boolean vector: component k has ``I_k`` or ``J_k`` empty (contributes nothing)."""
        return np.asarray(~(self.x_support.any(axis=0) & self.y_support.any(axis=0)))

    def num_free_entries(self) -> int:
        """``|I| + |J|``: number of free entries of (X, Y)."""
        return int(self.x_support.sum() + self.y_support.sum())

    # ------------------------------------------------------------------ transformations
    def with_masks(self, x_support: Any, y_support: Any, **meta: Any) -> SupportPattern:
        """A new pattern with other masks and this one's metadata (overridable by keywords)."""
        fields: dict[str, Any] = {"name": self.name, "description": self.description, "source": self.source,
                  "expected": self.expected}
        fields.update(meta)
        return SupportPattern(x_support, y_support, **fields)

    def drop_empty(self) -> SupportPattern:
        """Remove components with ``I_k`` or ``J_k`` empty (they never change ``XYᵀ``).

        Raises :class:`InvalidSupportError` if every component is empty, since the pattern then only
        represents the zero matrix; use :meth:`is_trivial` to test for that first.
        """
        keep = ~self.empty_components()
        if keep.all():
            return self
        if not keep.any():
            raise InvalidSupportError(
                f"every component of {self!r} is empty (I_k or J_k has no entry): P = {{0}}."
            )
        return self.with_masks(self.x_support[:, keep], self.y_support[:, keep])

    def is_trivial(self) -> bool:
        """True if every component is empty: the only representable matrix is 0."""
        return bool(self.empty_components().all())

    def transpose(self) -> SupportPattern:
        """The pattern of ``Aᵀ ≈ Y Xᵀ`` (swap ``I`` and ``J``)."""
        return self.with_masks(self.y_support, self.x_support)

    def permute(
        self,
        row_perm: Sequence[int] | None = None,
        col_perm: Sequence[int] | None = None,
        comp_perm: Sequence[int] | None = None,
    ) -> SupportPattern:
        """Permute rows of A (rows of X), columns of A (rows of Y) and components.

        ``row_perm[i]`` is the old row placed at position i (numpy fancy-indexing convention).
        """
        x, y = self.x_support, self.y_support
        for perm, size, pname in ((row_perm, self.m, "row_perm"), (col_perm, self.n, "col_perm"),
                                  (comp_perm, self.r, "comp_perm")):
            if perm is not None and sorted(int(p) for p in perm) != list(range(size)):
                raise InvalidSupportError(f"{pname} = {list(perm)!r} is not a permutation of range({size}).")
        if row_perm is not None:
            x = x[list(row_perm), :]
        if col_perm is not None:
            y = y[list(col_perm), :]
        if comp_perm is not None:
            x = x[:, list(comp_perm)]
            y = y[:, list(comp_perm)]
        return self.with_masks(x, y)

    def direct_sum(self, other: SupportPattern) -> SupportPattern:
        """Block-diagonal combination: ``A = diag(A1, A2)``, components side by side."""
        x = np.zeros((self.m + other.m, self.r + other.r), dtype=bool)
        y = np.zeros((self.n + other.n, self.r + other.r), dtype=bool)
        x[: self.m, : self.r] = self.x_support
        x[self.m :, self.r :] = other.x_support
        y[: self.n, : self.r] = self.y_support
        y[self.n :, self.r :] = other.y_support
        name = f"{self.name}⊕{other.name}" if self.name or other.name else ""
        return SupportPattern(x, y, name=name)

    def add_empty_component(self) -> SupportPattern:
        """Append a component with empty ``J_k`` (useful for invariance tests)."""
        x = np.concatenate([self.x_support, np.ones((self.m, 1), dtype=bool)], axis=1)
        y = np.concatenate([self.y_support, np.zeros((self.n, 1), dtype=bool)], axis=1)
        return self.with_masks(x, y)

    def restrict(self, rows: Sequence[int], cols: Sequence[int], comps: Sequence[int]) -> SupportPattern:
        """Sub-pattern on the given rows of A, columns of A and components."""
        return self.with_masks(self.x_support[np.ix_(list(rows), list(comps))],
                               self.y_support[np.ix_(list(cols), list(comps))])

    # ------------------------------------------------------------------ canonical form
    def canonical_key(self, transpose: bool = False) -> str:
        """A string key equal for patterns equivalent up to symmetry.

        Invariant under row permutations of X, row permutations of Y, permutations of the
        components and dropping empty components; with ``transpose=True`` also under swapping
        ``I`` and ``J``. Two patterns with equal keys are equivalent, and with python-igraph installed two
        equivalent patterns get equal keys (symmetric patterns by graph canonization: keys prefixed with
        ``"G"``). Without it, a pattern too symmetric for the refinement gets a key prefixed with ``"~"``,
        still sound (equal keys imply equivalent patterns) but equivalent patterns may get different keys;
        :mod:`wellposed.canonical` describes the three methods.

        Examples
        --------
        >>> a = SupportPattern(["10", "11"], ["10", "11"])
        >>> b = a.permute(comp_perm=[1, 0], row_perm=[1, 0])
        >>> a.canonical_key() == b.canonical_key()
        True
        >>> a.canonical_key()
        '2x2x2:01.11|01.11'

        Notes
        -----
        The key is the row-sorted masks, components in a canonical order: the lexicographic minimum over
        the orderings of the distinct component columns that respect an isomorphism-invariant refinement
        when they are few, else the order of a canonical labelling by bliss. Identical components are
        merged with their multiplicity first. Cost: the refinement, ``O(nnz)`` per round, then at most
        24 orderings times ``(m + n) r``, or one bliss call on ``m + n + r`` vertices and ``nnz`` edges.
        """
        if self.is_trivial():
            if transpose:
                return "T" + min(f"{self.m}x{self.n}x0:", f"{self.n}x{self.m}x0:")
            return f"{self.m}x{self.n}x0:"
        from .canonical import canonical_key

        key = canonical_key(self.drop_empty())
        if transpose:
            key_t = canonical_key(self.transpose().drop_empty())
            if key.startswith("~") or key_t.startswith("~"):
                return "~" + min(key.lstrip("~"), key_t.lstrip("~"))
            return "T" + min(key, key_t)
        return key

    # ------------------------------------------------------------------ serialization
    def to_json(self) -> dict[str, Any]:
        """JSON-ready dict: rows of 0/1 characters plus metadata (the case-file format)."""
        out: dict[str, Any] = {}
        if self.name:
            out["name"] = self.name
        if self.description:
            out["description"] = self.description
        from .canonical import mask_rows

        out["x_support"] = mask_rows(self.x_support)
        out["y_support"] = mask_rows(self.y_support)
        if self.expected:
            out["expected"] = dict(self.expected)
        if self.source:
            out["source"] = self.source
        return out

    @classmethod
    def from_json(cls, data: Mapping[str, Any], where: str = "JSON record") -> SupportPattern:
        """Build a pattern from a dict with keys ``x_support``, ``y_support`` (and optional metadata)."""
        if not isinstance(data, Mapping):
            raise InvalidSupportError(
                f"{where}: expected a JSON object with keys 'x_support' and 'y_support', got "
                f"{type(data).__name__}."
            )
        missing = [k for k in ("x_support", "y_support") if k not in data]
        if missing:
            raise InvalidSupportError(
                f"{where}: missing key(s) {missing}; a pattern is "
                '{"x_support": ["10", "11"], "y_support": ["10", "11"]}.'
            )
        unknown = set(data) - {"x_support", "y_support", "name", "description", "source", "expected", "id"}
        if unknown:
            raise InvalidSupportError(
                f"{where}: unknown key(s) {sorted(unknown)}; allowed: x_support, y_support, name, "
                "description, source, expected, id."
            )
        name = data.get("name", data.get("id", ""))
        try:
            return cls(data["x_support"], data["y_support"], name=str(name or ""),
                       description=str(data.get("description", "")), source=str(data.get("source", "")),
                       expected=data.get("expected") or {})
        except InvalidSupportError as exc:
            raise InvalidSupportError(f"{where}: {exc}") from None

    def to_arrays(self) -> dict[str, np.ndarray]:
        """``{"x_support": ..., "y_support": ...}`` as uint8 arrays (the .npz format)."""
        return {"x_support": self.x_support.astype(np.uint8), "y_support": self.y_support.astype(np.uint8)}

    def _repr_svg_(self) -> str:
        """Notebook display: masks I and J and the supports S_k coloured by class (:mod:`wellposed.render`)."""
        from .render import pattern_svg

        return pattern_svg(self)
