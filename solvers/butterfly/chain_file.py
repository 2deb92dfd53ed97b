"""The versioned ``.npz`` file of a factor chain: its format, the atomic writer, the checked reader, metadata."""

from __future__ import annotations

import os
import zipfile
import zlib
from typing import Any, NamedTuple

import numpy as np

from wellposed.errors import InvalidSpecError
from wellposed.kronecker import KSPattern

__all__ = ["NPZ_FORMAT", "ChainArrays", "load_metadata", "read_chain_arrays", "write_npz"]

#: Value of the ``format`` key of a chain ``.npz`` file: the layout and its version. Version 2 added the
#: optional ``column_permutation`` and ``row_permutation`` keys.
NPZ_FORMAT = "wellposed.FactorChain/2"
#: Version 1: the same factor keys, no permutation keys (a ``meta_column_permutation`` written by
#: ``ButterflyResult.save`` held the column permutation of a bit-reversed factorization).
_FORMAT_1 = "wellposed.FactorChain/1"
#: Formats :func:`read_chain_arrays` reads.
_READABLE_FORMATS = (NPZ_FORMAT, _FORMAT_1)
#: The permutation keys of a version-2 file.
PERMUTATION_KEYS = ("column_permutation", "row_permutation")


class ChainArrays(NamedTuple):
    """What :func:`read_chain_arrays` reads from a chain file: patterns, data and the optional permutations
    (checked to be 1-D integer arrays; :class:`~wellposed.solvers.butterfly.FactorChain` checks the rest)."""

    patterns: list[KSPattern]
    data: list[np.ndarray]
    column_permutation: np.ndarray | None
    row_permutation: np.ndarray | None


def write_npz(path: str | os.PathLike[str], arrays: dict[str, Any], parameter: str = "path") -> str:
    """``numpy.savez(path, **arrays)`` written atomically; returns the file name written.

    Like :func:`numpy.savez`, appends ``.npz`` to a name without it. A failed write leaves no partial
    file and raises :class:`~wellposed.errors.OutputError` naming ``parameter``.

    Examples
    --------
    >>> import tempfile, pathlib
    >>> d = pathlib.Path(tempfile.mkdtemp())
    >>> pathlib.Path(write_npz(d / "chain", {"num_factors": np.int64(0)})).name
    'chain.npz'
    >>> sorted(p.name for p in d.iterdir())  # no temporary file is left behind
    ['chain.npz']
    """
    from wellposed.io.outputs import atomic_output

    target = os.fspath(path)
    if not target.endswith(".npz"):
        target += ".npz"
    with atomic_output(target, parameter) as tmp, open(tmp, "wb") as fh:
        np.savez(fh, **arrays)
    return target


def _integers(value: np.ndarray, name: str, where: str) -> list[int]:
    """The entries of an integer array (or of a float array with whole values), else InvalidSpecError."""
    arr = np.asarray(value)
    if arr.dtype.kind in "iu":
        return [int(v) for v in arr.ravel()]
    if arr.dtype.kind == "f" and arr.size <= 16 and np.all(np.isfinite(arr)) and np.all(arr == np.round(arr)) \
            and np.all(np.abs(arr) < 2**53):
        return [int(v) for v in arr.ravel()]
    if arr.dtype.kind not in "biufc":
        shown: Any = f"an array of dtype {arr.dtype}"
    else:
        shown = arr.item() if arr.ndim == 0 else arr.ravel()[:8].tolist()
    raise InvalidSpecError(f"{where}: {name} = {shown!r} must hold whole numbers (integers).")


def _format_of(value: np.ndarray) -> str:
    """The ``format`` entry as text (anything that is not one string is shown as its dtype)."""
    arr = np.asarray(value)
    if arr.dtype.kind in "US" and arr.size == 1:
        item = arr.reshape(()).item()
        return item.decode("utf-8", "replace") if isinstance(item, bytes) else str(item)
    return f"<an array of dtype {arr.dtype} and shape {arr.shape}>"


def _permutation(value: np.ndarray, name: str, where: str) -> np.ndarray:
    """A stored permutation as a 1-D int64 array (its values are checked by ``FactorChain``)."""
    arr = np.asarray(value)
    if arr.dtype.kind not in "iu" or arr.ndim != 1:
        raise InvalidSpecError(f"{where}: {name} must be a 1-D integer array (a permutation of the column or row "
                               f"indices), got dtype {arr.dtype} and shape {arr.shape!r}; write the chain with "
                               "FactorChain.save.")
    return arr.astype(np.int64)


def read_chain_arrays(path: str | os.PathLike[str], where: str) -> ChainArrays:
    """Patterns, factor data and permutations of a chain ``.npz`` file, checked before use.

    The file has ``format`` = :data:`NPZ_FORMAT` (the layout and its version), the keys ``num_factors``,
    ``pattern_i``, ``factor_i`` and optionally ``column_permutation`` / ``row_permutation``. Older layouts
    are read too: version 1 (``'wellposed.FactorChain/1'``, no permutation keys; its
    ``meta_column_permutation``, written by ``ButterflyResult.save`` for a bit-reversed factorization, is
    the column permutation) and files without ``format`` (written by earlier ``wellposed quantize --out``).
    Checked: the format is one this version reads, the count is a whole number matching the arrays present,
    patterns are four positive integers, permutations are 1-D integer arrays, no array is of object dtype or
    too large for the memory budget. Errors are :class:`~wellposed.errors.InvalidSpecError` naming
    ``where`` and the fix.

    Examples
    --------
    >>> import tempfile, pathlib
    >>> path = pathlib.Path(tempfile.mkdtemp()) / "c.npz"
    >>> np.savez(path, format=np.array(NPZ_FORMAT), num_factors=np.int64(1), pattern_0=np.array([1, 2, 2, 1]),
    ...          factor_0=np.ones((1, 2, 2, 1)))
    >>> read_chain_arrays(path, "chain")[0]
    [KSPattern(a=1, b=2, c=2, d=1)]
    >>> np.savez(path, num_factors=np.float64(2.5), pattern_0=np.array([1, 2, 2, 1]), factor_0=np.ones((1, 2, 2, 1)))
    >>> read_chain_arrays(path, "chain")
    Traceback (most recent call last):
    ...
    wellposed.errors.InvalidSpecError: chain: num_factors = 2.5 must hold whole numbers (integers).
    >>> np.savez(path, format=np.array("wellposed.FactorChain/9"), num_factors=np.int64(1))
    >>> read_chain_arrays(path, "chain")
    Traceback (most recent call last):
    ...
    wellposed.errors.InvalidSpecError: chain has format 'wellposed.FactorChain/9', which this version of \
wellposed cannot read (it reads 'wellposed.FactorChain/2', 'wellposed.FactorChain/1'); upgrade wellposed, \
or write the chain again with FactorChain.save.
    """
    from wellposed.io.arrays import check_array_file

    if not os.path.isfile(path):
        raise InvalidSpecError(f"cannot read {where}: it does not exist (or is not a file).")
    headers = check_array_file(path, where)
    if "format" not in headers and "num_factors" not in headers:
        raise InvalidSpecError(f"{where} is not a FactorChain file: it has neither the key 'format' "
                               f"({NPZ_FORMAT!r}) nor the keys num_factors, pattern_0, factor_0, ... of a chain; "
                               "write it with FactorChain.save (or `wellposed factor MATRIX.npy --chain SPEC --out "
                               "F.npz`).")
    available = sum(1 for k in headers if k.startswith("factor_"))
    version = None
    try:
        with np.load(path, allow_pickle=False) as z:
            if "format" in headers:
                version = _format_of(z["format"])
                if version not in _READABLE_FORMATS:
                    raise InvalidSpecError(
                        f"{where} has format {version!r}, which this version of wellposed cannot read (it reads "
                        f"{', '.join(map(repr, _READABLE_FORMATS))}); upgrade wellposed, or write the chain again "
                        "with FactorChain.save.")
            if "num_factors" not in headers:
                raise InvalidSpecError(f"{where} has no 'num_factors' key; a FactorChain file has the keys format, "
                                       "num_factors, pattern_0, factor_0, ...: write it with FactorChain.save.")
            counts = _integers(z["num_factors"], "num_factors", where)
            if len(counts) != 1:
                raise InvalidSpecError(f"{where}: num_factors must be one integer, got {len(counts)} values.")
            count = counts[0]
            if not 1 <= count <= available:
                raise InvalidSpecError(f"{where}: num_factors = {count!r} must be between 1 and the number of "
                                       f"factor_i arrays in the file ({available}).")
            missing = [k for i in range(count) for k in (f"pattern_{i}", f"factor_{i}") if k not in headers]
            if missing:
                raise InvalidSpecError(f"{where} lacks {missing!r} (num_factors = {count}).")
            patterns: list[KSPattern] = []
            data = []
            for i in range(count):
                abcd = _integers(z[f"pattern_{i}"], f"pattern_{i}", where)
                if len(abcd) != 4 or min(abcd) < 1:
                    raise InvalidSpecError(f"{where}: pattern_{i} must hold 4 integers ≥ 1 (a, b, c, d), got "
                                           f"{abcd!r}.")
                patterns.append(KSPattern(*abcd))
                data.append(np.array(z[f"factor_{i}"]))
            perms: dict[str, np.ndarray | None] = dict.fromkeys(PERMUTATION_KEYS)
            if version == NPZ_FORMAT:
                for key in PERMUTATION_KEYS:
                    if key in headers:
                        perms[key] = _permutation(z[key], key, where)
            elif version == _FORMAT_1 and "meta_column_permutation" in headers:
                perms["column_permutation"] = _permutation(z["meta_column_permutation"], "meta_column_permutation",
                                                           where)
    except InvalidSpecError:
        raise
    except (OSError, ValueError, EOFError, KeyError, zipfile.BadZipFile, zlib.error) as exc:
        raise InvalidSpecError(f"cannot read {where} as a .npz chain file: {exc}") from None
    return ChainArrays(patterns, data, perms["column_permutation"], perms["row_permutation"])


def load_metadata(path: str | os.PathLike[str]) -> dict[str, np.ndarray]:
    """Metadata arrays (``meta_<name>`` keys, prefix stripped) of a FactorChain ``.npz`` file."""
    with np.load(path, allow_pickle=False) as z:
        return {k[5:]: z[k] for k in z.files if k.startswith("meta_")}
