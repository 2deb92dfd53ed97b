"""Numpy files read safely: ``.npy`` / ``.npz`` headers checked before any array is loaded, numeric matrices.

* :func:`read_npy_header` — shape and dtype of a ``.npy`` header (alone or an ``.npz`` member).
* :func:`check_array_file` — refuse a renamed, corrupt, pickled or too large ``.npy`` / ``.npz`` file from
  its headers alone.
* :func:`read_matrix_npy` — the reader of numeric matrices (``.npy``), the ``matrix`` entry of
  :data:`wellposed.io.formats.FORMATS`; :func:`read_matrix` chooses it by suffix.
"""

from __future__ import annotations

import math
import os
import tokenize
import zipfile
import zlib
from pathlib import Path
from typing import IO, TYPE_CHECKING, Any

from ..errors import InvalidMatrixError, InvalidSpecError

if TYPE_CHECKING:  # pragma: no cover - numpy is imported on first use: the CLI imports this module at start
    import numpy as np

__all__ = ["NPY_HEADER_ERRORS", "READ_ERRORS", "read_npy_header", "check_array_file", "read_matrix",
           "read_matrix_npy"]

NPY_MAGIC = b"\x93NUMPY"
ZIP_MAGIC = (b"PK\x03\x04", b"PK\x05\x06")
#: Errors numpy and zipfile raise on a corrupt or truncated archive or array.
READ_ERRORS = (OSError, ValueError, EOFError, zipfile.BadZipFile, zlib.error, KeyError)

#: What reading a .npy header (alone or inside an .npz archive) raises when the file is corrupt: numpy
#: parses the header text with tokenize and ``ast.literal_eval``.
NPY_HEADER_ERRORS = (OSError, ValueError, EOFError, KeyError, SyntaxError, TypeError, zipfile.BadZipFile,
                     zlib.error, tokenize.TokenError)


def read_npy_header(fh: IO[bytes]) -> tuple[tuple[int, ...], Any]:
    """Shape and dtype from the .npy header at the position of ``fh``, without reading the data; leaves
    ``fh`` at the start of the data. A corrupt header raises one of :data:`NPY_HEADER_ERRORS`.

    Examples
    --------
    >>> import io, numpy as np
    >>> buf = io.BytesIO()
    >>> np.save(buf, np.zeros((2, 3), dtype=bool))
    >>> _ = buf.seek(0)
    >>> read_npy_header(buf)
    ((2, 3), dtype('bool'))
    """
    import numpy as np

    fmt = np.lib.format
    version = fmt.read_magic(fh)
    if version == (1, 0):
        shape, _, dtype = fmt.read_array_header_1_0(fh)
    elif version in ((2, 0), (3, 0)):
        shape, _, dtype = fmt.read_array_header_2_0(fh)
    else:
        raise ValueError(f".npy format {version} is not supported here")
    return tuple(int(v) for v in shape), np.dtype(dtype)


def _npy_header(fh: IO[bytes], where: str, name: str) -> tuple[tuple[int, ...], np.dtype]:
    """:func:`read_npy_header`, a corrupt header becoming an :class:`InvalidSpecError` naming ``where``."""
    try:
        return read_npy_header(fh)
    except (*READ_ERRORS, *NPY_HEADER_ERRORS) as exc:
        raise InvalidSpecError(f"{where}: array {name!r} has a corrupt .npy header ({exc}); write the file again "
                               "with numpy.save or numpy.savez.") from None


def check_array_file(path: str | os.PathLike[str], where: str, per_entry: int = 4
                     ) -> dict[str, tuple[tuple[int, ...], np.dtype]]:
    """Check a ``.npy`` or ``.npz`` file from its headers alone, before any array is loaded.

    Refuses, with an :class:`~wellposed.errors.InvalidSpecError` naming ``where``: a ``.npy`` file
    renamed ``.npz`` (and the converse), a file that is neither, a corrupt archive or header, and arrays
    of object dtype (pickled Python objects, never loaded). Refuses with
    :class:`~wellposed.errors.ResourceLimitError` arrays whose data plus ``per_entry`` bytes of working
    memory per entry exceed :func:`wellposed.memory.max_bytes` (a small compressed ``.npz`` can declare a
    huge array).

    Returns
    -------
    dict
        ``{array name: (shape, dtype)}`` (the file stem for a ``.npy`` file).

    Examples
    --------
    >>> import tempfile, pathlib, numpy as np
    >>> d = pathlib.Path(tempfile.mkdtemp())
    >>> np.savez(d / "m.npz", x_support=np.ones((4, 3), bool))
    >>> check_array_file(d / "m.npz", "masks")
    {'x_support': ((4, 3), dtype('bool'))}
    >>> np.save(d / "a.npy", np.ones(2))
    >>> _ = (d / "a.npy").rename(d / "b.npz")
    >>> check_array_file(d / "b.npz", "masks")
    Traceback (most recent call last):
    ...
    wellposed.errors.InvalidSpecError: masks: is a single .npy array saved under a .npz name; rename it to \
.npy, or save the arrays with numpy.savez.
    """
    from ..memory import check_memory, format_bytes

    path = Path(path)
    try:
        with open(path, "rb") as fh:
            head = fh.read(8)
    except OSError as exc:
        raise InvalidSpecError(f"{where}: cannot read the file ({exc.strerror or exc}).") from None
    headers: dict[str, tuple[tuple[int, ...], np.dtype]] = {}
    if path.suffix.lower() == ".npz":
        if head.startswith(NPY_MAGIC):
            raise InvalidSpecError(f"{where}: is a single .npy array saved under a .npz name; rename it to .npy, or "
                                   "save the arrays with numpy.savez.")
        if not head.startswith(ZIP_MAGIC):
            raise InvalidSpecError(f"{where}: is not a .npz archive (not a zip file); write it with numpy.savez "
                                   "or scipy.sparse.save_npz.")
        try:
            with zipfile.ZipFile(path) as zf:
                for info in zf.infolist():
                    if info.filename.endswith(".npy"):
                        with zf.open(info) as member:
                            headers[info.filename[:-4]] = _npy_header(member, where, info.filename[:-4])
        except InvalidSpecError:  # a corrupt member header, already named
            raise
        except READ_ERRORS as exc:
            raise InvalidSpecError(f"{where}: is a corrupt .npz archive ({exc}); write it again with "
                                   "numpy.savez.") from None
    else:
        if head.startswith(ZIP_MAGIC):
            raise InvalidSpecError(f"{where}: is a .npz archive saved under a {path.suffix or 'bare'} name; rename "
                                   "it to .npz.")
        if not head.startswith(NPY_MAGIC):
            raise InvalidSpecError(f"{where}: is not a .npy file (no NUMPY header); save the array with "
                                   "numpy.save('A.npy', A).")
        with open(path, "rb") as fh:
            headers[path.stem] = _npy_header(fh, where, path.stem)
    for name, (_, dtype) in headers.items():
        if dtype.hasobject:
            raise InvalidSpecError(
                f"{where}: array {name!r} has dtype object (pickled Python objects), which is never loaded because "
                "unpickling can run code; save numeric or boolean arrays only (convert with arr.astype(float) or "
                "arr.astype(bool) before numpy.save/numpy.savez)."
            )
    sizes = {name: math.prod(shape) for name, (shape, _) in headers.items()}
    need = sum(size * (dtype.itemsize + per_entry) for size, (_, dtype) in zip(sizes.values(), headers.values(),
                                                                             strict=True))
    biggest = max(sizes, key=lambda k: sizes[k], default=None)
    if biggest is not None:
        shape, dtype = headers[biggest]
        check_memory(need, f"its arrays (the largest, {biggest!r}, is {'×'.join(map(str, shape))} {dtype}, "
                     f"{format_bytes(sizes[biggest] * dtype.itemsize)} of data)", where,
                     "Use smaller arrays")
    return headers


def read_matrix(path: str, parameter: str = "MATRIX") -> Any:
    """A numeric matrix from a file of a ``matrix`` format of :data:`~wellposed.io.formats.FORMATS` (``.npy``).

    Raises :class:`~wellposed.errors.InvalidMatrixError` naming ``parameter``, the path and the fix.

    Examples
    --------
    >>> read_matrix("A.txt")
    Traceback (most recent call last):
    ...
    wellposed.errors.InvalidMatrixError: MATRIX = 'A.txt' has suffix '.txt'; it must be a .npy file (a numeric \
matrix; save A with numpy.save('A.npy', A)).
    """
    from .formats import format_for

    reader = format_for("matrix", path, parameter=parameter, error=InvalidMatrixError).load()
    return reader(path, parameter)


def read_matrix_npy(path: str, parameter: str = "MATRIX") -> Any:
    """Read a numeric matrix from a ``.npy`` file or raise InvalidMatrixError naming the parameter and the fix."""
    import numpy as np

    if not os.path.isfile(path):
        raise InvalidMatrixError(f"{parameter} file {path!r} does not exist (or is not a file).")
    check_array_file(path, f"cannot read {parameter} {path!r}", per_entry=16)  # object dtype, renamed .npz, size
    try:
        return np.load(path, allow_pickle=False)
    except (OSError, ValueError, EOFError) as exc:
        raise InvalidMatrixError(f"cannot read {parameter} {path!r} as a .npy array: {exc}") from None
