"""Read layer masks of a network from .npz/.npy files, scipy.sparse files, JSON and torch state_dicts.

The readers are the ``masks`` entries of :data:`wellposed.io.formats.FORMATS` (chosen by suffix); each
returns the ``(name, array)`` pairs of one file. :func:`load_masks` returns masks first layer first, each
``out × in`` (the torch ``Linear.weight`` layout), validated to chain by :func:`wellposed.network.validate_masks`.

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
    registration order), an unpruned layer's 2-D ``*.weight`` counting as a full mask; or explicit masks: a
    list/tuple of 2-D tensors, or a dict whose values are all 2-D tensors; or, with ``from_weights=True``, the
    nonzero pattern of the ``*.weight`` tensors.

Several files are concatenated in the order given.
"""

from __future__ import annotations

import importlib.util
import re
import sys
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from ..errors import BackendNotAvailableError, InvalidSpecError, InvalidSupportError
from ..network import validate_masks
from ..support import as_mask
from .arrays import READ_ERRORS, check_array_file
from .bounded_json import loads_bounded
from .formats import format_for

__all__ = ["MaskSet", "load_masks", "mask_set", "select_masks", "read_npz_masks", "read_npy_mask", "read_json_masks",
           "read_torch_masks", "TORCH_INSTALL_HINT"]

TORCH_INSTALL_HINT = "pip install torch==2.13.0  (CPU build; or: pip install \"wellposed[torch]\")"
_ARR = re.compile(r"arr_(\d+)")


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


def load_masks(paths: str | Path | Sequence[str | Path], *, from_weights: bool = False,
               parameter: str = "paths") -> MaskSet:
    """Load layer masks from one or several files (see the module docstring for formats and order).

    Parameters
    ----------
    paths : path or list of paths
    from_weights : bool
        For torch files without masks: use the nonzero pattern of the ``*.weight`` tensors.
    parameter : str
        How error messages name ``paths`` (the CLI says ``MASKS``).

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
    items: list[tuple[str, Any, str]] = []
    for raw in paths:
        path = Path(raw)
        if not path.is_file():
            raise InvalidSpecError(f"mask file {str(path)!r} does not exist (or is not a file).")
        reader = format_for("masks", path, parameter=parameter).load()
        found = reader(path, from_weights)
        if not found:
            raise InvalidSpecError(f"mask file {str(path)!r} holds no 2-D mask.")
        items += [(name if len(paths) == 1 else f"{path.name}:{name}", arr, str(path)) for name, arr in found]
    return mask_set(items, lambda source: f"mask file {source!r}")


def mask_set(items: Sequence[tuple[str, Any, str]], where: Callable[[str], str]) -> MaskSet:
    """The :class:`MaskSet` of ``(name, array, source)`` items, first layer first: each converted to a bool
    mask (an error names the layer, prefixed by ``where(source)``) and the shapes checked to chain.

    >>> mask_set([("a", np.ones((3, 2)), "f"), ("b", np.ones((1, 3)), "f")], repr).names
    ('a', 'b')
    """
    masks: list[np.ndarray] = []
    for name, arr, source in items:
        try:
            masks.append(as_mask(arr, name))
        except InvalidSupportError as exc:
            raise InvalidSupportError(f"{where(source)}: {exc}") from None
    names = [name for name, _, _ in items]
    checked = validate_masks(masks, names)
    return MaskSet(tuple(checked), tuple(names), tuple(source for _, _, source in items))


def read_npy_mask(path: Path, from_weights: bool = False) -> list[tuple[str, Any]]:
    """One layer from a ``.npy`` file (the ``masks`` reader of ``.npy`` files)."""
    check_array_file(path, f"mask file {str(path)!r}")
    try:
        arr = np.load(path, allow_pickle=False)
    except READ_ERRORS as exc:
        raise InvalidSpecError(f"cannot read {str(path)!r} as a .npy array: {exc}") from None
    return [(path.stem, arr)]


def read_npz_masks(path: Path, from_weights: bool = False) -> list[tuple[str, Any]]:
    """Masks of a ``.npz`` file: one per array (``numpy.savez``), or one layer (``scipy.sparse.save_npz``)."""
    headers = check_array_file(path, f"mask file {str(path)!r}")
    if {"format", "shape", "data"} <= set(headers):
        import scipy.sparse

        try:
            return [(path.stem, scipy.sparse.load_npz(path))]
        except (*READ_ERRORS, TypeError) as exc:
            raise InvalidSpecError(f"cannot read {str(path)!r} as a scipy.sparse matrix: {exc}") from None
    keys = list(headers)
    if keys and all(_ARR.fullmatch(k) for k in keys):
        keys.sort(key=lambda k: int(_ARR.fullmatch(k).group(1)))  # type: ignore[union-attr]
    try:
        with np.load(path, allow_pickle=False) as data:
            return [(k, data[k]) for k in keys]
    except READ_ERRORS as exc:
        raise InvalidSpecError(f"cannot read {str(path)!r} as a .npz archive: {exc}") from None


def read_json_masks(path: Path, from_weights: bool = False) -> list[tuple[str, Any]]:
    """Masks of a ``.json`` file ``{"masks": [["0101", ...], ...], "names": [...]}`` (rows of 0/1 strings)."""
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


def read_torch_masks(path: Path, from_weights: bool = False) -> list[tuple[str, Any]]:
    """Masks of a torch file: ``*.weight_mask`` buffers, explicit 2-D masks, or (``from_weights``) the nonzero
    pattern of the ``*.weight`` tensors; loaded with ``weights_only=True`` (never arbitrary objects)."""
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
    return select_masks(obj, from_weights, repr(str(path)))


def select_masks(obj: Any, from_weights: bool, where: str) -> list[tuple[str, np.ndarray]]:
    """The ``(name, array)`` masks of a state_dict or a collection of masks (tensors or numpy arrays).

    ``*.weight_mask`` entries (``torch.nn.utils.prune``) in their order, with a full mask for the 2-D
    ``*.weight`` of a layer left unpruned (all its weights are free: it is a layer of the network all the
    same); else, if every entry is a 2-D array
    and none is named ``*.weight``/``*.bias``, every entry (explicit masks); else, with ``from_weights``, the
    nonzero pattern of the ``*.weight`` entries (a bare ``weight`` too: the state_dict of one layer), leaving
    out the 1-D ones (the scales of BatchNorm and LayerNorm, diagonal maps that do not change the pattern).
    ``where`` names ``obj`` in error messages. Torch files (:func:`read_torch_masks`) and
    :func:`wellposed.analyze` of a module or a state_dict share this choice.

    >>> [name for name, _ in select_masks({"0.weight": np.eye(2), "1.weight": np.ones((1, 2))}, True, "d")]
    ['0.weight', '1.weight']
    """
    if isinstance(obj, (list, tuple)):
        items = [(f"[{i}]", v) for i, v in enumerate(obj)]
    elif isinstance(obj, Mapping):
        items = [(str(k), v) for k, v in obj.items()]
    else:
        raise InvalidSpecError(f"{where} holds a {type(obj).__name__}; expected a state_dict or a list of masks.")
    tensors = [(k, v) for k, v in items if _is_array(v)]
    pruned = [(k, v) for k, v in tensors if k.endswith("weight_mask")]
    nonzero = False
    if pruned:  # a layer left unpruned between pruned ones is dense: every weight free, never skipped
        masked = {k.removesuffix("_mask") for k, _ in pruned}
        chosen = [(k, v) if k.endswith("weight_mask") else (k, np.ones(tuple(v.shape), dtype=bool))
                  for k, v in tensors if k.endswith("weight_mask")
                  or ((k == "weight" or k.endswith(".weight")) and v.ndim == 2 and k not in masked)]
    elif tensors and len(tensors) == len(items) and all(v.ndim == 2 for _, v in tensors) \
            and not any(k.endswith((".weight", ".bias")) for k, _ in tensors):
        chosen = tensors
    elif from_weights:  # 1-D weights are the scales of norm layers (BatchNorm, LayerNorm): diagonal, not a layer
        chosen = [(k, v) for k, v in tensors if (k == "weight" or k.endswith(".weight")) and v.ndim != 1]
        nonzero = True
    else:
        raise InvalidSpecError(
            f"{where} has no '*.weight_mask' buffers (torch.nn.utils.prune) and is not a list/dict of 2-D "
            "masks; save the pruned model's state_dict before prune.remove(), save the masks explicitly, or use "
            "the nonzero pattern of the weights (from_weights=True, CLI --from-weights)."
        )
    out = []
    for k, v in chosen:
        if v.ndim != 2:
            raise InvalidSupportError(
                f"{k!r} in {where} has shape {tuple(v.shape)}; only fully connected layers (2-D masks, "
                "out × in) are supported."
            )
        arr = _tensor_to_numpy(v, k, where) if _is_tensor(v) else np.asarray(v)
        out.append((k, arr != 0 if nonzero else arr))
    return out


def _is_array(value: Any) -> bool:
    """A numpy array or a torch tensor (anything with ``ndim`` and ``shape``), without importing torch."""
    return isinstance(value, np.ndarray) or _is_tensor(value)


def _is_tensor(value: Any) -> bool:
    torch = sys.modules.get("torch")
    return torch is not None and isinstance(value, torch.Tensor)


def _tensor_to_numpy(v: Any, name: str, where: str) -> np.ndarray:
    """A 2-D tensor of a mask file as a numpy array (:func:`wellposed.support.tensor_as_numpy`), or
    InvalidSpecError naming the entry and the file."""
    from ..support import tensor_as_numpy

    shape = tuple(int(t) for t in v.shape)
    try:
        return np.asarray(tensor_as_numpy(v, f"mask file {where}", fix="Save a smaller mask",
                                          what=f"the sparse {shape[0]}×{shape[1]} tensor {name!r}"))
    except (TypeError, RuntimeError, NotImplementedError) as exc:
        raise InvalidSpecError(f"{name!r} in {where} cannot be read as a 0/1 mask ({exc}); save it as a "
                               "dense bool tensor, e.g. mask.to_dense().bool().") from None
