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
import json
import re
import zipfile
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from .errors import BackendNotAvailableError, InvalidSpecError, InvalidSupportError
from .network import validate_masks

__all__ = ["MaskSet", "load_masks", "TORCH_SUFFIXES", "TORCH_INSTALL_HINT"]

TORCH_SUFFIXES = (".pt", ".pth", ".ckpt", ".bin")
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
            masks.append(arr)
            names.append(name if len(paths) == 1 else f"{path.name}:{name}")
            sources.append(str(path))
    checked = validate_masks(masks, names)
    return MaskSet(tuple(checked), tuple(names), tuple(sources))


def _read_one(path: Path, from_weights: bool) -> list[tuple[str, Any]]:
    suffix = path.suffix.lower()
    if suffix == ".npz":
        return _read_npz(path)
    if suffix == ".npy":
        try:
            arr = np.load(path, allow_pickle=False)
        except (OSError, ValueError) as exc:
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
    try:
        with zipfile.ZipFile(path) as zf:
            order = [n[:-4] for n in zf.namelist() if n.endswith(".npy")]
        data = np.load(path, allow_pickle=False)
    except (OSError, ValueError, zipfile.BadZipFile) as exc:
        raise InvalidSpecError(f"cannot read {str(path)!r} as a .npz archive: {exc}") from None
    with data:
        keys = list(data.files)
        if {"format", "shape", "data"} <= set(keys):
            import scipy.sparse

            try:
                return [(path.stem, scipy.sparse.load_npz(path))]
            except (OSError, ValueError) as exc:
                raise InvalidSpecError(f"cannot read {str(path)!r} as a scipy.sparse matrix: {exc}") from None
        if keys and all(_ARR.fullmatch(k) for k in keys):
            keys.sort(key=lambda k: int(_ARR.fullmatch(k).group(1)))  # type: ignore[union-attr]
        else:
            keys = [k for k in order if k in data.files]
        return [(k, data[k]) for k in keys]


def _read_json(path: Path) -> list[tuple[str, Any]]:
    try:
        obj = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise InvalidSpecError(f"cannot read {str(path)!r} as JSON: {exc}") from None
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
    import torch

    try:
        obj = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as exc:  # torch raises many types (pickle, zip, runtime) for a bad file
        raise InvalidSpecError(f"cannot read {str(path)!r} as a torch state_dict: {exc}") from None
    if isinstance(obj, (list, tuple)):
        items = [(f"[{i}]", v) for i, v in enumerate(obj)]
    elif isinstance(obj, dict):
        items = [(str(k), v) for k, v in obj.items()]
    else:
        raise InvalidSpecError(f"{str(path)!r} holds a {type(obj).__name__}; expected a state_dict or a list of masks.")
    tensors = [(k, v) for k, v in items if isinstance(v, torch.Tensor)]
    pruned = [(k, v) for k, v in tensors if k.endswith("weight_mask")]
    if pruned:
        chosen = pruned
    elif tensors and len(tensors) == len(items) and all(v.ndim == 2 for _, v in tensors) \
            and not any(k.endswith((".weight", ".bias")) for k, _ in tensors):
        chosen = tensors
    elif from_weights:
        chosen = [(k, v != 0) for k, v in tensors if k.endswith(".weight")]
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
        out.append((k, v.detach().to("cpu").numpy()))
    return out
