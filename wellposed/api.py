"""The in-memory entry points: :func:`analyze` (one pattern or one network) and :func:`classify_many` (a table).

``wellposed.analyze(x)`` reads what a Python session holds — a :class:`~wellposed.support.SupportPattern`, a
pair of masks ``(I, J)``, a family spec or case file as the CLI takes them, a torch ``nn.Module``, a
state_dict or a dict of masks — and answers with the record of the matching command: the
:class:`~wellposed.analysis.Analysis` of ``wellposed analyze`` for one pattern, the
:class:`~wellposed.network.NetworkReport` of ``wellposed network`` for the layers of a network. The two
commands call it too, so the library and the CLI share one path.

``wellposed.classify_many(X, Y)`` classifies stacks of masks with the batch kernel of ``wellposed batch``
(:func:`wellposed.batch.rows.classify_arrays`) and returns a :class:`BatchTable` whose rows are the
command's rows.

Examples
--------
>>> import numpy as np
>>> lu = np.tril(np.ones((3, 3), dtype=bool))
>>> a = analyze((lu, lu))
>>> a.tractable, a.closed, a.closed_method
(False, False, 'certificate:lu-obstruction')
>>> table = classify_many(np.stack([lu, np.eye(3, dtype=bool)]), np.stack([lu, np.eye(3, dtype=bool)]))
>>> table["tractable"].tolist(), table[1]["tractable_method"]
([False, True], 'dto')
"""

from __future__ import annotations

import os
import sys
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, overload

import numpy as np

from . import validate
from .analysis import CLOSEDNESS_FIELDS, ROW_FIELDS, Analysis, analyze_spec
from .analysis import analyze as analyze_pattern
from .backends.registry import DEFAULT_BACKEND, check_backend
from .errors import BackendNotAvailableError, InvalidSpecError, InvalidSupportError
from .support import SupportPattern, tensor_as_numpy

if TYPE_CHECKING:  # pragma: no cover - imported on use: the network package loads scipy
    from .io.masks import MaskSet
    from .network import NetworkReport

__all__ = ["analyze", "classify_many", "BatchTable", "PANDAS_INSTALL_HINT"]

#: How to install what :meth:`BatchTable.to_frame` needs.
PANDAS_INSTALL_HINT = 'pip install pandas  (or: pip install "wellposed[frame]")'

_KINDS = ("a SupportPattern, a pair (I, J) of 0/1 masks (numpy arrays, nested lists or scipy.sparse matrices), "
          "a family spec such as 'lu:3' or a .json/.npz case file, a torch nn.Module, or a state_dict / dict "
          "of layer masks (first layer first, each out × in)")


# ---------------------------------------------------------------------------------------------- analyze
@overload
def analyze(x: SupportPattern | str | os.PathLike[str] | tuple[Any, Any], *, closedness: bool = ...,
            backend: str = ..., effort: float = ..., timeout: float | None = ..., full: bool = ...,
            from_weights: bool = ...) -> Analysis: ...
@overload
def analyze(x: Mapping[str, Any] | MaskSet, *, closedness: bool = ..., backend: str = ..., effort: float = ...,
            timeout: float | None = ..., full: bool = ..., from_weights: bool = ...,
            progress: Callable[[int, int], None] | None = ...) -> NetworkReport: ...
@overload
def analyze(x: Any, *, closedness: bool = ..., backend: str = ..., effort: float = ...,
            timeout: float | None = ..., full: bool = ..., from_weights: bool = ...,
            progress: Callable[[int, int], None] | None = ...) -> Analysis | NetworkReport: ...
def analyze(
    x: Any,
    *,
    closedness: bool = True,
    backend: str = DEFAULT_BACKEND,
    effort: float = 1.0,
    timeout: float | None = None,
    full: bool = False,
    from_weights: bool = False,
    progress: Callable[[int, int], None] | None = None,
) -> Analysis | NetworkReport:
    """Tractability and closedness, with their evidence, of a pattern or of every adjacent pair of a network.

    Parameters
    ----------
    x : pattern or network
        One pattern: a :class:`~wellposed.support.SupportPattern`; a pair ``(I, J)`` of 0/1 masks (numpy
        bool or 0/1 arrays, nested lists, scipy.sparse matrices), ``I`` of shape (m, r) and ``J`` (n, r)
        for ``A ≈ X Yᵀ`` (a list ``[I, J]`` whose shapes also chain as two layers is refused as ambiguous:
        give a tuple); a family spec such as ``"lu:3"``, ``"butterfly:1024:5"``, or a ``.json``/``.npz``
        case file (the ``SPEC`` of ``wellposed analyze``). A network: a torch ``nn.Module`` (its
        state_dict is read), a state_dict, or a dict ``{name: mask}`` of 2-D 0/1 arrays or tensors, first
        layer first, each ``out × in`` (the ``Linear.weight`` layout); the masks are the
        ``*.weight_mask`` buffers of ``torch.nn.utils.prune`` when there are any.
    closedness : bool
        Run the closedness engine (default); otherwise only tractability is decided and ``closed`` is
        ``None`` (for a network: the pairs no theorem decides are reported undecided).
    backend : str
        Quantifier-elimination backend of the engine's last stage (``"z3"`` or ``"qepcad"``).
    effort : float
        Factor on the engine's counted budgets (verdicts depend on it, never on the machine's speed).
    timeout : float or None
        Optional wall-clock safety cap in seconds, per pattern or per pair (default: none).
    full : bool
        One pattern only: list every class, component and part (default: lists cut at 20 items).
    from_weights : bool
        Networks only: without masks, use the nonzero pattern of the ``*.weight`` entries (the 1-D scales of
        norm layers left out).
    progress : callable or None
        Networks only: ``progress(done, total)`` after each pair and after the linear set (the
        ``--progress`` bar of ``wellposed network``).

    Returns
    -------
    Analysis or NetworkReport
        :class:`~wellposed.analysis.Analysis` for one pattern (its ``to_json()`` is the record of
        ``wellposed analyze --json``), :class:`~wellposed.network.NetworkReport` for a network (its
        ``to_json()`` is the record of ``wellposed network --json``, without ``files``).

    Raises
    ------
    InvalidSpecError
        ``x`` is none of the above, a spec or file cannot be read, or an option is invalid.
    InvalidSupportError
        A mask is not a 2-D 0/1 array, the two masks of a pair differ in r, or layer masks do not chain.

    Examples
    --------
    >>> a = analyze("lu:2")
    >>> a.tractable, a.closed, a.certificate["limit"]
    (False, False, [['0', '1'], ['1', '0']])
    >>> report = analyze({"hidden": np.ones((4, 3)), "out": np.array([[1, 0, 1, 1]])})
    >>> report.pairs[0].tractable, report.relu.status
    (True, 'well-posed')
    >>> analyze([np.eye(2)])
    Traceback (most recent call last):
    ...
    wellposed.errors.InvalidSpecError: x is a list of 1 item(s); wellposed.analyze reads a SupportPattern, ...

    Notes
    -----
    The same functions run as for the commands: :func:`wellposed.analysis.analyze` or
    :func:`wellposed.analysis.analyze_spec` (Kronecker-sparse specs decided from their description) for a
    pattern, :func:`wellposed.network.analyze_network` for a network, whose masks are chosen as for a torch
    file (:func:`wellposed.io.masks.select_masks`).
    """
    closedness = validate.flag(closedness, "closedness")
    backend = check_backend(backend)
    effort = validate.effort(effort)
    timeout = validate.timeout(timeout)
    full = validate.flag(full, "full")
    from_weights = validate.flag(from_weights, "from_weights")
    network = _network_masks(x, from_weights)
    if network is not None:
        if full:
            raise InvalidSpecError("full = True lists the classes of one pattern; a network report has no such "
                                   "lists: leave full out for a network.")
        from .network import analyze_network

        return analyze_network(list(network.masks), names=list(network.names), closedness=closedness,
                               backend=backend, effort=effort, timeout=timeout, progress=progress)
    if progress is not None:
        raise InvalidSpecError("progress reports the pairs of a network; x is one pattern: leave progress out.")
    if from_weights:
        raise InvalidSpecError(f"from_weights = True reads the weights of a network; x is a "
                               f"{type(x).__name__}, one pattern: leave from_weights out.")
    options: dict[str, Any] = {"closedness": closedness, "backend": backend, "effort": effort, "timeout": timeout,
                               "full": full}
    if isinstance(x, SupportPattern):
        return analyze_pattern(x, **options)
    if isinstance(x, (str, os.PathLike)):
        return analyze_spec(x, **options)
    if isinstance(x, (tuple, list)):
        if len(x) != 2:
            raise InvalidSpecError(
                f"x is a {type(x).__name__} of {len(x)} item(s); wellposed.analyze reads {_KINDS}. A pattern is "
                "the pair (I, J); the layers of a network go in a dict {name: mask}.")
        if isinstance(x, list) and _chain_as_layers(x[0], x[1]):
            raise InvalidSpecError(
                f"x is a list of two masks of shapes {_shape(x[0])} and {_shape(x[1])}, which also chain as two "
                "layers (out × in): ambiguous. Give a tuple (I, J) for one pattern (I m×r, J n×r), or a dict "
                "{name: mask} for the layers of a network.")
        return analyze_pattern(SupportPattern(x[0], x[1]), **options)
    raise InvalidSpecError(f"x = {_short(x)} ({type(x).__name__}) cannot be analyzed; wellposed.analyze reads "
                           f"{_KINDS}.")


def _shape(v: Any) -> tuple[int, ...]:
    shape = getattr(v, "shape", None)
    try:
        return tuple(int(s) for s in (shape if shape is not None else np.shape(v)))
    except (TypeError, ValueError):
        return ()


def _chain_as_layers(a: Any, b: Any) -> bool:
    """Whether two masks could also be two layers ``b @ a`` of a network (``b`` out × in with in = rows of ``a``):
    a list ``[W1, W2]`` is then refused as ambiguous (a tuple is always a pair)."""
    sa, sb = _shape(a), _shape(b)
    return len(sa) == 2 and len(sb) == 2 and sb[1] == sa[0]


def _network_masks(x: Any, from_weights: bool) -> MaskSet | None:
    """The layer masks of ``x`` if it is a network (a MaskSet, an ``nn.Module``, a state_dict or a dict of
    masks), else None."""
    from .io.masks import MaskSet, mask_set, select_masks

    if isinstance(x, MaskSet):
        return x
    torch = sys.modules.get("torch")  # a module exists only if torch is already imported
    if torch is not None and isinstance(x, torch.nn.Module):
        where = f"x (the state_dict of a {type(x).__name__})"
        state: Any = x.state_dict()
    elif isinstance(x, Mapping):
        where, state = "x", x
    else:
        return None
    if len(state) == 0:
        raise InvalidSpecError(f"{where} is empty; give a module with layers, or a dict {{name: mask}} of 2-D 0/1 "
                               "masks, first layer first, each out × in.")
    items = select_masks(state, from_weights, where)
    if not items:
        raise InvalidSpecError(f"{where} has no '*.weight' entry to read the nonzero pattern of; give masks.")
    return mask_set([(name, arr, "x") for name, arr in items], lambda _: where)


def _short(value: Any) -> str:
    text = " ".join(repr(value).split())
    return text if len(text) <= 60 else text[:56] + "…" + text[-3:]


# ---------------------------------------------------------------------------------------------- classify_many
#: Columns whose values are integers or booleans (:meth:`BatchTable.column` gives them a numeric dtype).
_INT_COLUMNS = frozenset({"line", "m", "n", "r", "num_classes", "num_complete_classes"})
_BOOL_COLUMNS = frozenset({"ok", "dto", "tractable"})


@dataclass(frozen=True)
class BatchTable:
    """The rows of :func:`classify_many`: one per pattern, the fields of a ``wellposed batch`` row.

    ``len(table)``, ``for row in table`` (dicts), ``table[i]`` (a row), ``table[i:j]`` (a table),
    ``table["tractable"]`` (a column as a numpy array: integer and boolean columns typed, the others of
    dtype object), :meth:`to_records`, :meth:`to_json`, :meth:`to_jsonl` and :meth:`to_frame` (pandas).

    Examples
    --------
    >>> t = classify_many([(np.eye(2), np.eye(2)), (np.ones((3, 1)), np.ones((2, 1)))])
    >>> len(t), t.columns[:4], t["r"].tolist()
    (2, ('line', 'ok', 'name', 'm'), [2, 1])
    """

    columns: tuple[str, ...]
    rows: tuple[dict[str, Any], ...]

    def __len__(self) -> int:
        return len(self.rows)

    def __iter__(self) -> Iterator[dict[str, Any]]:
        return (dict(row) for row in self.rows)

    @overload
    def __getitem__(self, key: int) -> dict[str, Any]: ...
    @overload
    def __getitem__(self, key: slice) -> BatchTable: ...
    @overload
    def __getitem__(self, key: str) -> np.ndarray: ...
    def __getitem__(self, key: int | slice | str) -> dict[str, Any] | BatchTable | np.ndarray:
        if isinstance(key, str):
            return self.column(key)
        if isinstance(key, slice):
            return BatchTable(self.columns, self.rows[key])
        if isinstance(key, (int, np.integer)) and not isinstance(key, bool):
            return dict(self.rows[key])
        raise TypeError(f"table[{key!r}]: index a BatchTable by row number, slice or column name "
                        f"(one of {list(self.columns)}).")

    def __repr__(self) -> str:
        return f"BatchTable({len(self)} rows; columns {', '.join(self.columns)})"

    def column(self, name: str) -> np.ndarray:
        """The values of column ``name``, one per row: int64 or bool for the integer and boolean columns,
        dtype object otherwise (strings, ``failing_pair`` lists or ``None``, closedness fields)."""
        if name not in self.columns:
            raise KeyError(f"{name!r} is not a column; the columns are {list(self.columns)}.")
        values = [row[name] for row in self.rows]
        if name in _INT_COLUMNS:
            return np.array(values, dtype=np.int64)
        if name in _BOOL_COLUMNS:
            return np.array(values, dtype=bool)
        out = np.empty(len(values), dtype=object)
        out[:] = values
        return out

    def to_records(self) -> list[dict[str, Any]]:
        """The rows as new dicts (JSON-ready: lists, no tuples)."""
        return [dict(row) for row in self.rows]

    def to_json(self) -> dict[str, Any]:
        """``{"columns": [...], "rows": [...]}``, JSON-ready."""
        return {"columns": list(self.columns), "rows": self.to_records()}

    def to_jsonl(self) -> str:
        """The rows as JSON lines, exactly as ``wellposed batch --out OUT.jsonl`` writes them (after its header)."""
        from .batch.rows import format_rows

        return format_rows(list(self.rows), "jsonl", list(self.columns)).decode("utf-8")

    def to_frame(self) -> Any:
        """A ``pandas.DataFrame`` with one row per pattern and the table's columns, in order.

        Raises :class:`~wellposed.errors.BackendNotAvailableError` when pandas is not installed.
        """
        try:
            import pandas as pd
        except ImportError:
            raise BackendNotAvailableError(f"BatchTable.to_frame needs pandas, which is not installed; run: "
                                           f"{PANDAS_INSTALL_HINT}. Without it: table.to_records() or "
                                           "table['tractable'].") from None
        return pd.DataFrame.from_records(list(self.rows), columns=list(self.columns))


def classify_many(
    X: Any,
    Y: Any = None,
    *,
    names: Sequence[str] | None = None,
    closedness: bool = False,
    effort: float = 1.0,
    timeout: float | None = None,
) -> BatchTable:
    """Classify many patterns at once, with the vectorized kernel of ``wellposed batch``.

    Parameters
    ----------
    X, Y : arrays of shape (B, m, r) and (B, n, r), or a list of pairs
        Stacks of masks ``I`` and ``J`` (bool or 0/1 numbers): pattern ``b`` is ``(X[b], Y[b])``. Patterns of
        different shapes: ``X`` a list of pairs ``(I, J)`` or of :class:`~wellposed.support.SupportPattern`,
        and no ``Y`` (or ``X`` and ``Y`` two lists of masks of equal length).
    names : list of B str, optional
        The rows' ``name`` (default: a pattern's own name, else ``""``).
    closedness : bool
        Also decide closedness, pattern by pattern (slow; as ``wellposed batch --closedness``).
    effort, timeout
        The closedness engine's budget factor and optional wall-clock cap per pattern.

    Returns
    -------
    BatchTable
        One row per pattern, in input order: the fields of a ``wellposed batch`` row (``line`` = 1-based
        position, ``ok``, then ``name``, ``m``, ``n``, ``r``, ``dto``, ``tractable``, ``tractable_method``,
        ``tractable_reason``, ``failing_pair``, ``num_classes``, ``num_complete_classes``, and the
        closedness fields with ``closedness``).

    Raises
    ------
    InvalidSupportError
        A stack is not 3-D, holds values other than 0/1 (2, NaN, …), has an empty mask axis (B = 0 patterns
        gives an empty table), or the two stacks differ in B or r; a pair is malformed.
    InvalidSpecError
        ``names`` of the wrong length, or an invalid option.

    Examples
    --------
    >>> rng = np.random.default_rng(0)
    >>> table = classify_many(rng.random((1000, 8, 8)) < 0.2, rng.random((1000, 8, 8)) < 0.2)
    >>> len(table), sorted(set(table["tractable_method"]))
    (1000, ['dto', 'none', 'relaxed'])
    >>> classify_many(np.full((2, 3, 3), 2), np.ones((2, 3, 3)))
    Traceback (most recent call last):
    ...
    wellposed.errors.InvalidSupportError: X has entry 2 at [0, 0, 0]; masks may only contain 0/1 (or ...

    Notes
    -----
    Patterns of one shape go through :func:`wellposed.batch.rows.classify_arrays` in chunks of
    :data:`wellposed.batch.CHUNK`, as ``wellposed batch`` does with an ``.npz`` input: the kernel
    (:func:`wellposed.batch.kernel.classify_batch`) for all of them at once, the sparse one-pattern path
    for patterns with more than ``KERNEL_MAX_R`` components. The rows are identical to the command's.
    """
    closedness = validate.flag(closedness, "closedness")
    effort = validate.effort(effort)
    timeout = validate.timeout(timeout)
    if Y is None or (isinstance(X, (list, tuple)) and isinstance(Y, (list, tuple))):
        groups, count, own = _pattern_groups(X, Y)
    else:
        x, y = _stack(X, "X", "(B, m, r)"), _stack(Y, "Y", "(B, n, r)")
        if x.shape[0] != y.shape[0] or x.shape[2] != y.shape[2]:
            raise InvalidSupportError(f"X has shape {x.shape} and Y {y.shape}; need (B, m, r) and (B, n, r) with the "
                                      "same B (patterns) and r (components).")
        count, own = x.shape[0], [""] * x.shape[0]
        groups = [(list(range(count)), x, y)]
    labels = _names(names, count, own)
    rows: list[dict[str, Any] | None] = [None] * count
    for positions, x, y in groups:
        for at, rec in zip(positions, _rows(x, y, [labels[p] for p in positions], closedness, effort, timeout),
                           strict=True):
            rec["line"] = at + 1
            rows[at] = rec
    cols = ("line", "ok", *ROW_FIELDS, *(CLOSEDNESS_FIELDS if closedness else ()))
    return BatchTable(cols, tuple(r for r in rows if r is not None))


def _rows(x: np.ndarray, y: np.ndarray, names: list[str], closedness: bool, effort: float,
          timeout: float | None) -> list[dict[str, Any]]:
    """The batch rows of patterns of one shape, chunk by chunk as ``wellposed batch`` makes them."""
    from .batch.rows import classify_arrays
    from .batch.runner import CHUNK
    from .io.batch_input import ArrayChunk

    out: list[dict[str, Any]] = []
    for s in range(0, x.shape[0], CHUNK):
        chunk = ArrayChunk(x[s:s + CHUNK], y[s:s + CHUNK], tuple(names[s:s + CHUNK]), s + 1, frozenset())
        out += classify_arrays(chunk, closedness, effort, timeout)
    return out


def _stack(value: Any, parameter: str, axes: str) -> np.ndarray:
    """``value`` as a bool array of 3 axes, or InvalidSupportError naming ``parameter``."""
    if hasattr(value, "toarray") and hasattr(value, "nnz"):
        raise InvalidSupportError(f"{parameter} is a 2-D scipy.sparse matrix; give a stack {axes} of masks as a "
                                  "numpy array, or a list of pairs (I, J) as X (sparse masks allowed there).")
    try:
        arr = np.asarray(tensor_as_numpy(value, parameter))
    except (ValueError, TypeError) as exc:
        raise InvalidSupportError(f"{parameter} cannot be read as an array {axes} ({exc}); for patterns of "
                                  "different shapes give X as a list of pairs (I, J) and no Y.") from None
    if arr.ndim != 3:
        raise InvalidSupportError(
            f"{parameter} has shape {arr.shape}; need 3 axes {axes}: a stack of B masks (one pattern: "
            "wellposed.analyze((I, J)); patterns of different shapes: X a list of pairs (I, J), no Y).")
    if 0 in arr.shape[1:]:
        raise InvalidSupportError(f"{parameter} has shape {arr.shape}; every mask axis must be ≥ 1 (one row and "
                                  "one component at least; B = 0 patterns gives an empty table).")
    if arr.dtype == bool:
        return arr
    if arr.dtype.kind not in "biuf":
        raise InvalidSupportError(f"{parameter} has dtype {arr.dtype}; masks must be bool or 0/1 numbers.")
    bad = (arr != 0) & (arr != 1)  # NaN is neither
    if bad.any():
        at = [int(t) for t in np.argwhere(bad)[0]]
        raise InvalidSupportError(f"{parameter} has entry {arr[tuple(at)].item()!r} at {at}; masks may only contain "
                                  "0/1 (or False/True): replace nonzero weights by 1, e.g. (W != 0).")
    return arr != 0


def _pattern_groups(X: Any, Y: Any) -> tuple[list[tuple[list[int], np.ndarray, np.ndarray]], int, list[str]]:
    """Patterns given one by one (pairs, SupportPatterns, or two lists of masks), grouped by shape and stacked:
    ``([(positions, x, y)], count, their own names)``."""
    if isinstance(X, np.ndarray) or not isinstance(X, Sequence) or isinstance(X, (str, bytes)):
        raise InvalidSupportError(f"X = {_short(X)} with no Y: give X as a list of pairs (I, J) or of "
                                  "SupportPatterns, or two stacks X (B, m, r) and Y (B, n, r).")
    if Y is not None:
        if len(X) != len(Y):
            raise InvalidSupportError(f"X has {len(X)} masks and Y has {len(Y)}; give one J per I.")
        X = list(zip(X, Y, strict=True))
    if len(X) == 0:
        return [], 0, []  # no pattern: an empty table
    patterns = []
    for b, item in enumerate(X):
        if isinstance(item, SupportPattern):
            patterns.append(item)
            continue
        if not isinstance(item, (tuple, list)) or len(item) != 2:
            raise InvalidSupportError(f"X[{b}] = {_short(item)} is not a pair (I, J) nor a SupportPattern.")
        try:
            patterns.append(SupportPattern(item[0], item[1]))
        except InvalidSupportError as exc:
            raise InvalidSupportError(f"X[{b}]: {exc}") from None
    by_shape: dict[tuple[int, int, int], list[int]] = {}
    for b, p in enumerate(patterns):
        by_shape.setdefault(p.shape, []).append(b)
    groups = [(pos, np.stack([patterns[b].x_support for b in pos]), np.stack([patterns[b].y_support for b in pos]))
              for pos in by_shape.values()]
    return groups, len(patterns), [p.name for p in patterns]


def _names(names: Sequence[str] | None, count: int, own: list[str]) -> list[str]:
    if names is None:
        return own
    if isinstance(names, (str, bytes)) or not isinstance(names, (Sequence, np.ndarray)) or len(names) != count:
        raise InvalidSpecError(f"names = {_short(names)} must be a list of {count} strings, one per pattern.")
    return [str(t) for t in names]
