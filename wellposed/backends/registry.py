"""Registry of QE backends, built on first use; choose a backend by name or by preference list."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from ..errors import BackendNotAvailableError, InvalidSpecError
from .base import Backend

__all__ = ["DEFAULT_PREFERENCE", "backend_classes", "installed_backends", "get_backend"]

#: Backends tried, in order, when none is named.
DEFAULT_PREFERENCE: tuple[str, ...] = ("z3", "qepcad")

_REGISTRY: dict[str, type[Backend]] | None = None


def backend_classes() -> dict[str, type[Backend]]:
    """Name → backend class of every known backend, installed or not (built on first call).

    Examples
    --------
    >>> sorted(backend_classes())
    ['qepcad', 'z3']
    """
    global _REGISTRY
    if _REGISTRY is None:
        from .qepcad_backend import QepcadBackend
        from .z3_backend import Z3Backend

        _REGISTRY = {cls.name: cls for cls in (Z3Backend, QepcadBackend)}
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
