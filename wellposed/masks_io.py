"""Read layer masks of a network from .npz/.npy files, scipy.sparse files, JSON and torch state_dicts.

Every reader returns masks first layer first, each ``out × in`` (the torch ``Linear.weight`` layout),
validated to chain by :func:`wellposed.network.validate_masks`.

Formats and their layer order
-----------------------------
``.npz`` (``numpy.savez``)
    One mask per array. Arrays named ``arr_0, arr_1, …`` (positional ``savez``) are taken in numeric
    order; otherwise in the order they were written to the archive (``numpy.savez(f, **d)`` keeps the
    insertion order of ``d``).
``.npz`` (``scipy.sparse.save_npz``)
    One layer (recognised by its ``format``/``shape`` arrays).
``.npy``
    One layer per file.
``.json``
    ``{"masks": [["0101", ...], ...]}``: rows of 0/1 strings per layer (the ``cases/networks`` format).
``.pt``, ``.pth``, ``.ckpt``, ``.bin`` (torch)
    A state_dict: the ``*.weight_mask`` buffers of ``torch.nn.utils.prune`` in state_dict order (module
    registration order); or explicit masks: a list/tuple of 2-D tensors, or a dict whose values are all
    2-D tensors; or, with ``from_weights=True``, the nonzero pattern of the ``*.weight`` tensors.

Several files are concatenated in the order given.
"""

from __future__ import annotations

import importlib.util
import math
import os
import re
import zipfile
import zlib
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any

import numpy as np

from .errors import BackendNotAvailableError, InvalidSpecError, InvalidSupportError
from .fileio import NPY_HEADER_ERRORS, read_npy_header
from .network import validate_masks
from .support import as_mask, check_memory, format_bytes

__all__ = ["MaskSet", "load_masks", "check_array_file", "TORCH_SUFFIXES", "TORCH_INSTALL_HINT"]

TORCH_SUFFIXES = (".pt", ".pth", ".ckpt", ".bin")
TORCH_INSTALL_HINT = "pip install torch==2.13.0  (CPU build; or: pip install \"wellposed[torch]\")"
_ARR = re.compile(r"arr_(\d+)")
_NPY_MAGIC = b"\x93NUMPY"
_ZIP_MAGIC = (b"PK\x03\x04", b"PK\x05\x06")
#: Errors numpy and zipfile raise on a corrupt or truncated archive or array.
_READ_ERRORS = (OSError, ValueError, EOFError, zipfile.BadZipFile, zlib.error, KeyError)


@dataclass(frozen=True)
class MaskSet:
    """Layer masks (read-only bool arrays, first layer first) with a name and a source per layer."""

    masks: tuple[np.ndarray, ...]
    names: tuple[str, ...]
    sources: tuple[str, ...]

    def __len__(self) -> int:
        return len(self.masks)

    def to_json(self) -> dict[str, Any]:
        """The ``cases/networks`` format: rows of 0/1 strings per layer, plus names."""
        return {"masks": [["".join("1" if v else "0" for v in row) for row in m] for m in self.masks],
                "names": list(self.names)}


def _npy_header(fh: IO[bytes], where: str, name: str) -> tuple[tuple[int, ...], np.dtype]:
    """:func:`read_npy_header`, a corrupt header becoming an :class:`InvalidSpecError` naming ``where``."""
    try:
        return read_npy_header(fh)
    except (*_READ_ERRORS, *NPY_HEADER_ERRORS) as exc:
        raise InvalidSpecError(f"{where}: array {name!r} has a corrupt .npy header ({exc}); write the file again "
                               "with numpy.save or numpy.savez.") from None


def check_array_file(path: str | os.PathLike[str], where: str, per_entry: int = 4
                     ) -> dict[str, tuple[tuple[int, ...], np.dtype]]:
    """Check a ``.npy`` or ``.npz`` file from its headers alone, before any array is loaded.

    Refuses, with an :class:`~wellposed.errors.InvalidSpecError` naming ``where``: a ``.npy`` file
    renamed ``.npz`` (and the converse), a file that is neither, a corrupt archive or header, and arrays
    of object dtype (pickled Python objects, never loaded). Refuses with
    :class:`~wellposed.errors.ResourceLimitError` arrays whose data plus ``per_entry`` bytes of working
    memory per entry exceed :func:`wellposed.support.max_bytes` (a small compressed ``.npz`` can declare a
    huge array).

    Returns
    -------
    dict
        ``{array name: (shape, dtype)}`` (the file stem for a ``.npy`` file).

    Examples
    --------
    >>> import tempfile, pathlib
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
    path = Path(path)
    try:
        with open(path, "rb") as fh:
            head = fh.read(8)
    except OSError as exc:
        raise InvalidSpecError(f"{where}: cannot read the file ({exc.strerror or exc}).") from None
    headers: dict[str, tuple[tuple[int, ...], np.dtype]] = {}
    if path.suffix.lower() == ".npz":
        if head.startswith(_NPY_MAGIC):
            raise InvalidSpecError(f"{where}: is a single .npy array saved under a .npz name; rename it to .npy, or "
                                   "save the arrays with numpy.savez.")
        if not head.startswith(_ZIP_MAGIC):
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
        except _READ_ERRORS as exc:
            raise InvalidSpecError(f"{where}: is a corrupt .npz archive ({exc}); write it again with "
                                   "numpy.savez.") from None
    else:
        if head.startswith(_ZIP_MAGIC):
            raise InvalidSpecError(f"{where}: is a .npz archive saved under a {path.suffix or 'bare'} name; rename "
                                   "it to .npz.")
        if not head.startswith(_NPY_MAGIC):
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


def load_masks(paths: str | Path | Sequence[str | Path], *, from_weights: bool = False) -> MaskSet:
    """Load layer masks from one or several files (see the module docstring for formats and order).

    Parameters
    ----------
    paths : path or list of paths
    from_weights : bool
        For torch files without masks: use the nonzero pattern of the ``*.weight`` tensors.

    Returns
    -------
    MaskSet

    Raises
    ------
    InvalidSpecError
        A file is missing, unreadable, of unknown type or holds no masks.
    InvalidSupportError
        A mask is not 0/1 or the shapes do not chain (the message names the layers).
    BackendNotAvailableError
        A torch file is given but torch is not installed.

    Examples
    --------
    >>> import tempfile, pathlib
    >>> d = pathlib.Path(tempfile.mkdtemp())
    >>> np.savez(d / "m.npz", np.ones((4, 3)), np.ones((2, 4)))
    >>> ms = load_masks(d / "m.npz")
    >>> [m.shape for m in ms.masks], ms.names
    ([(4, 3), (2, 4)], ('arr_0', 'arr_1'))

    Notes
    -----
    Reading is linear in the file sizes; masks are converted to bool once.
    """
    if isinstance(paths, (str, Path)):
        paths = [paths]
    if not isinstance(paths, Sequence) or len(paths) == 0:
        raise InvalidSpecError(f"paths = {paths!r} must be a path or a non-empty list of paths.")
    if not isinstance(from_weights, bool):
        raise InvalidSpecError(f"from_weights = {from_weights!r} must be True or False.")
    masks: list[Any] = []
    names: list[str] = []
    sources: list[str] = []
    for raw in paths:
        path = Path(raw)
        if not path.is_file():
            raise InvalidSpecError(f"mask file {str(path)!r} does not exist (or is not a file).")
        items = _read_one(path, from_weights)
        if not items:
            raise InvalidSpecError(f"mask file {str(path)!r} holds no 2-D mask.")
        for name, arr in items:
            label = name if len(paths) == 1 else f"{path.name}:{name}"
            try:
                masks.append(as_mask(arr, label))
            except InvalidSupportError as exc:
                raise InvalidSupportError(f"mask file {str(path)!r}: {exc}") from None
            names.append(label)
            sources.append(str(path))
    checked = validate_masks(masks, names)
    return MaskSet(tuple(checked), tuple(names), tuple(sources))


def _read_one(path: Path, from_weights: bool) -> list[tuple[str, Any]]:
    suffix = path.suffix.lower()
    if suffix == ".npz":
        return _read_npz(path)
    if suffix == ".npy":
        check_array_file(path, f"mask file {str(path)!r}")
        try:
            arr = np.load(path, allow_pickle=False)
        except _READ_ERRORS as exc:
            raise InvalidSpecError(f"cannot read {str(path)!r} as a .npy array: {exc}") from None
        return [(path.stem, arr)]
    if suffix == ".json":
        return _read_json(path)
    if suffix in TORCH_SUFFIXES:
        return _read_torch(path, from_weights)
    raise InvalidSpecError(
        f"mask file {str(path)!r} has suffix {suffix!r}; use .npz (numpy.savez or scipy.sparse.save_npz), "
        f".npy (one layer), .json ({{\"masks\": ...}}) or a torch state_dict ({', '.join(TORCH_SUFFIXES)})."
    )


def _read_npz(path: Path) -> list[tuple[str, Any]]:
    headers = check_array_file(path, f"mask file {str(path)!r}")
    if {"format", "shape", "data"} <= set(headers):
        import scipy.sparse

        try:
            return [(path.stem, scipy.sparse.load_npz(path))]
        except (*_READ_ERRORS, TypeError) as exc:
            raise InvalidSpecError(f"cannot read {str(path)!r} as a scipy.sparse matrix: {exc}") from None
    keys = list(headers)
    if keys and all(_ARR.fullmatch(k) for k in keys):
        keys.sort(key=lambda k: int(_ARR.fullmatch(k).group(1)))  # type: ignore[union-attr]
    try:
        with np.load(path, allow_pickle=False) as data:
            return [(k, data[k]) for k in keys]
    except _READ_ERRORS as exc:
        raise InvalidSpecError(f"cannot read {str(path)!r} as a .npz archive: {exc}") from None


def _read_json(path: Path) -> list[tuple[str, Any]]:
    from .fileio import loads_bounded

    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise InvalidSpecError(f"cannot read {str(path)!r} as JSON: {exc}") from None
    obj = loads_bounded(text, f"mask file {str(path)!r}")
    if not isinstance(obj, dict) or not isinstance(obj.get("masks"), list):
        raise InvalidSpecError(
            f"{str(path)!r}: expected an object with key \"masks\": a list of layers, each a list of rows of "
            "0/1 strings, e.g. {\"masks\": [[\"11\", \"01\"], [\"11\"]]}."
        )
    names = obj.get("names")
    if not (isinstance(names, list) and len(names) == len(obj["masks"])):
        names = [f"layer {ell}" for ell in range(1, len(obj["masks"]) + 1)]
    return [(str(n), m) for n, m in zip(names, obj["masks"], strict=True)]


def _read_torch(path: Path, from_weights: bool) -> list[tuple[str, Any]]:
    if importlib.util.find_spec("torch") is None:
        raise BackendNotAvailableError(
            f"reading the torch file {str(path)!r} needs torch, which is not installed; run: {TORCH_INSTALL_HINT}"
        )
    import pickle

    import torch

    try:
        obj = torch.load(path, map_location="cpu", weights_only=True)
    except pickle.UnpicklingError as exc:
        if not re.search(r"GLOBAL|Unsupported (global|class)", str(exc)):  # not a pickle of tensors at all
            raise InvalidSpecError(f"cannot read {str(path)!r} as a torch file: it was not written by torch.save, or "
                                   "it is corrupt; save the masks with torch.save(model.state_dict(), path).") from None
        # torch's message advises weights_only=False, i.e. running the file's code: never pass that on
        found = re.search(r"GLOBAL ([\w.]+)", str(exc))
        what = f" (it refers to {found.group(1)})" if found else ""
        raise InvalidSpecError(
            f"{str(path)!r} holds Python objects other than tensors{what}, which are not loaded because unpickling "
            "them can run arbitrary code; save only tensors: torch.save(model.state_dict(), path) (it keeps the "
            "*.weight_mask buffers of torch.nn.utils.prune), or torch.save({name: mask, ...}, path) for explicit "
            "masks."
        ) from None
    except MemoryError:
        raise
    except Exception as exc:  # torch raises many types (zip, runtime, key errors) for a file it cannot parse
        reason = (str(exc).strip().splitlines() or [""])[0][:200]
        raise InvalidSpecError(
            f"cannot read {str(path)!r} as a torch file ({type(exc).__name__}: {reason}); it must be written by "
            "torch.save, e.g. torch.save(model.state_dict(), path)."
        ) from None
    if isinstance(obj, (list, tuple)):
        items = [(f"[{i}]", v) for i, v in enumerate(obj)]
    elif isinstance(obj, dict):
        items = [(str(k), v) for k, v in obj.items()]
    else:
        raise InvalidSpecError(f"{str(path)!r} holds a {type(obj).__name__}; expected a state_dict or a list of masks.")
    tensors = [(k, v) for k, v in items if isinstance(v, torch.Tensor)]
    pruned = [(k, v) for k, v in tensors if k.endswith("weight_mask")]
    nonzero = False
    if pruned:
        chosen = pruned
    elif tensors and len(tensors) == len(items) and all(v.ndim == 2 for _, v in tensors) \
            and not any(k.endswith((".weight", ".bias")) for k, _ in tensors):
        chosen = tensors
    elif from_weights:
        chosen = [(k, v) for k, v in tensors if k.endswith(".weight")]
        nonzero = True
    else:
        raise InvalidSpecError(
            f"{str(path)!r} has no '*.weight_mask' buffers (torch.nn.utils.prune) and is not a list/dict of 2-D "
            "masks; save the pruned model's state_dict before prune.remove(), save the masks explicitly, or use "
            "the nonzero pattern of the weights (from_weights=True, CLI --from-weights)."
        )
    out = []
    for k, v in chosen:
        if v.ndim != 2:
            raise InvalidSupportError(
                f"{k!r} in {str(path)!r} has shape {tuple(v.shape)}; only fully connected layers (2-D masks, "
                "out × in) are supported."
            )
        arr = _tensor_to_numpy(torch, v, k, path)
        out.append((k, arr != 0 if nonzero else arr))
    return out


def _tensor_to_numpy(torch: Any, v: Any, name: str, path: Path) -> np.ndarray:
    """A 2-D tensor as a numpy array: sparse layouts are densified (memory checked first), dtypes numpy lacks
    (bfloat16, float8) are widened to float32."""
    shape = tuple(int(t) for t in v.shape)
    try:
        if v.layout != torch.strided:
            check_memory(math.prod(shape) * (v.element_size() + 4),
                         f"the dense form of the sparse {shape[0]}×{shape[1]} tensor {name!r} ({v.layout})",
                         f"mask file {str(path)!r}", "Save a smaller mask")
            v = v.to_dense()
        v = v.detach().to("cpu")
        if v.is_floating_point() and v.dtype not in (torch.float16, torch.float32, torch.float64):
            v = v.to(torch.float32)
        return np.asarray(v.numpy())
    except (TypeError, RuntimeError, NotImplementedError) as exc:
        raise InvalidSpecError(f"{name!r} in {str(path)!r} cannot be read as a 0/1 mask ({exc}); save it as a "
                               "dense bool tensor, e.g. mask.to_dense().bool().") from None
