"""Registry of QE backends, built on first use; choose a backend by name or by preference list.

:data:`BACKENDS` is the one list of backend names: the closedness pipeline, the CLI and the tests read it
from here. Knowing the names imports no backend module and launches no tool.
"""

from __future__ import annotations

import importlib
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from ..errors import BackendNotAvailableError, InvalidSpecError

if TYPE_CHECKING:  # pragma: no cover
    from .base import Backend

__all__ = ["BACKENDS", "DEFAULT_BACKEND", "check_backend", "DEFAULT_PREFERENCE", "backend_title", "backend_classes",
           "installed_backends", "get_backend"]

#: name → (module, class, title for people) of every known backend, in the default preference order.
_ENTRIES: dict[str, tuple[str, str, str]] = {
    "z3": ("z3_backend", "Z3Backend", "z3"),
    "qepcad": ("qepcad_backend", "QepcadBackend", "QEPCAD B"),
}

#: Names of every known backend, installed or not (the one list; e.g. the choices of ``--backend``).
BACKENDS: tuple[str, ...] = tuple(_ENTRIES)
#: Backends tried, in order, when none is named: all of them, in registry order.
DEFAULT_PREFERENCE: tuple[str, ...] = BACKENDS
#: The backend of the closedness engine's last stage unless the user names one (embedded: always installed).
DEFAULT_BACKEND: str = BACKENDS[0]


def check_backend(name: object, parameter: str = "backend") -> str:
    """``name`` if it is a backend of the registry, else InvalidSpecError naming the choices.

    >>> check_backend("qepcad")
    'qepcad'
    >>> check_backend("mathematica")
    Traceback (most recent call last):
    ...
    wellposed.errors.InvalidSpecError: backend = 'mathematica' is not a QE backend; use one of ['z3', 'qepcad'].
    """
    if not isinstance(name, str) or name not in _ENTRIES:
        raise InvalidSpecError(f"{parameter} = {name!r} is not a QE backend; use one of {list(BACKENDS)}.")
    return name

_REGISTRY: dict[str, type[Backend]] | None = None


def backend_title(name: str) -> str:
    """How people call the backend ``name`` (e.g. ``"QEPCAD B"``), without importing it.

    >>> ", ".join(backend_title(b) for b in BACKENDS)
    'z3, QEPCAD B'
    """
    if name not in _ENTRIES:
        raise InvalidSpecError(f"backend name {name!r} is unknown; choose from {sorted(_ENTRIES)}.")
    return _ENTRIES[name][2]


def backend_classes() -> dict[str, type[Backend]]:
    """Name → backend class of every known backend, installed or not (built on first call).

    Examples
    --------
    >>> list(backend_classes()) == list(BACKENDS)
    True
    """
    global _REGISTRY
    if _REGISTRY is None:
        _REGISTRY = {name: getattr(importlib.import_module(f".{module}", __package__), cls)
                     for name, (module, cls, _) in _ENTRIES.items()}
    return dict(_REGISTRY)


def installed_backends() -> list[str]:
    """Names of the installed backends, in the default preference order (no tool is launched)."""
    classes = backend_classes()
    return [name for name in DEFAULT_PREFERENCE if classes[name].available()]


def get_backend(choice: Any = DEFAULT_PREFERENCE) -> Backend:
    """A backend instance from a name, a preference list of names, or an instance (returned as is).

    Raises :class:`InvalidSpecError` for an unknown name and :class:`BackendNotAvailableError` (with
    the install command) when no requested backend is installed.

    Examples
    --------
    >>> get_backend("z3").name
    'z3'
    >>> get_backend(["nonexistent"])
    Traceback (most recent call last):
    ...
    wellposed.errors.InvalidSpecError: backend name 'nonexistent' is unknown; choose from ['qepcad', 'z3'].
    """
    from .base import Backend

    if isinstance(choice, Backend):
        return choice
    classes = backend_classes()
    if isinstance(choice, str):
        names: Sequence[str] = [choice]
    elif isinstance(choice, (list, tuple)) and choice and all(isinstance(c, str) for c in choice):
        names = choice
    else:
        raise InvalidSpecError(
            f"backend = {choice!r} must be a backend name, a non-empty list of names or a Backend instance; "
            f"names: {sorted(classes)}."
        )
    for name in names:
        if name not in classes:
            raise InvalidSpecError(f"backend name {name!r} is unknown; choose from {sorted(classes)}.")
    for name in names:
        if classes[name].available():
            return classes[name]()
    hints = "; ".join(f"{n}: {classes[n].install_hint}" for n in names)
    raise BackendNotAvailableError(
        f"no requested QE backend is installed ({list(names)}); install one: {hints}."
    )
