"""Ordered, bounded parallel map: in-process, a local process pool, or a Dask distributed cluster.

Workers of the local pool die with the process that started them, even after ``kill -9`` of it: on
Linux they ask the kernel for ``SIGKILL`` when their parent exits (``prctl(PR_SET_PDEATHSIG)``), and on
every platform a daemon thread ends them when that process exits (see :func:`die_with_parent`).
"""

from __future__ import annotations

import collections
import importlib.util
import logging
import os
import signal
import sys
import threading
import time
from collections.abc import Callable, Iterable, Iterator
from typing import Any, TypeVar

from . import validate
from .errors import BackendNotAvailableError, InvalidSpecError

__all__ = ["ordered_map", "check_jobs", "dask_available", "die_with_parent", "SCHEDULER_SCHEMES", "DASK_INSTALL_HINT",
           "MAX_JOBS"]

T = TypeVar("T")
R = TypeVar("R")

logger = logging.getLogger(__name__)

#: Address schemes accepted for ``scheduler`` (those of dask.distributed's communication layer).
SCHEDULER_SCHEMES = ("tcp", "tls", "inproc", "ucx", "ws", "wss")
#: What to run when dask.distributed is missing.
DASK_INSTALL_HINT = 'pip install "dask[distributed]"  (or: pip install "wellposed[dask]")'
#: Most worker processes of a local pool. The pool starts them all at once, so a huge ``jobs`` would fork
#: thousands of interpreters (or overflow a semaphore: ``--jobs 10**30`` was a traceback).
MAX_JOBS = 512


def check_jobs(jobs: Any) -> int:
    """``jobs`` if it is an integer from 1 to :data:`MAX_JOBS`, else :class:`InvalidSpecError` saying so.

    >>> check_jobs(2)
    2
    >>> check_jobs(10**30)  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    wellposed.errors.InvalidSpecError: jobs = 1000000000000000000000000000000 must be an integer from 1 to 512 \
(worker processes; 1 = run in this process, and more than the ... CPU cores only adds overhead).
    """
    return validate.integer(jobs, "jobs", low=1, high=MAX_JOBS, hint=f"worker processes; 1 = run in this process, "
                            f"and more than the {os.cpu_count() or 1} CPU cores only adds overhead")


def dask_available() -> bool:
    """True if ``dask.distributed`` can be imported (checked without importing it).

    >>> isinstance(dask_available(), bool)
    True
    """
    return importlib.util.find_spec("distributed") is not None


#: Seconds between two checks of the owner process by a worker's watchdog thread (when no pidfd).
PARENT_POLL_SECONDS = 0.5
_PR_SET_PDEATHSIG = 1  # from <linux/prctl.h>


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # pragma: no cover - exists, owned by someone else
        return True
    return True


def die_with_parent(owner: int | None = None) -> None:
    """Make this (worker) process end when ``owner`` — the process that created the pool — dies, even by
    ``kill -9``.

    Used as the initializer of the local pool's workers.

    * If ``owner`` is this process's parent (fork and spawn start methods), on Linux the kernel sends
      ``SIGKILL`` when it exits (``prctl(PR_SET_PDEATHSIG, SIGKILL)``, through ctypes).
    * On every platform, and for fork-server workers (whose parent is the fork server, which itself
      lives as long as its workers do), a daemon thread waits for ``owner`` to exit — on a pidfd where
      the platform has one, else by checking every :data:`PARENT_POLL_SECONDS` — and then exits.

    Parameters
    ----------
    owner : int, optional
        Process id of the pool's owner (default: the parent). If it is already gone, exit at once.

    Examples
    --------
    Every worker of the local pool runs it first; the results are unchanged:

    >>> list(ordered_map(abs, [-1, -2, 3], jobs=2))
    [1, 2, 3]
    """
    ppid = os.getppid()
    owner = ppid if owner is None else owner
    if owner == ppid and sys.platform.startswith("linux"):
        try:
            import ctypes

            libc = ctypes.CDLL(None, use_errno=True)
            libc.prctl(_PR_SET_PDEATHSIG, int(signal.SIGKILL), 0, 0, 0)
        except (OSError, AttributeError):  # pragma: no cover - no libc / no prctl: the thread remains
            pass
    if (owner == ppid and os.getppid() != ppid) or not _pid_alive(owner):
        os._exit(1)  # the owner died before the death signal was armed
    pidfd = -1
    if hasattr(os, "pidfd_open"):
        try:
            pidfd = os.pidfd_open(owner)
        except OSError:  # pragma: no cover - kernel without pidfd
            pidfd = -1

    def watch() -> None:
        if pidfd >= 0:
            import select

            poller = select.poll()
            poller.register(pidfd, select.POLLIN)
            while not poller.poll():  # readable once the owner has exited
                pass
            os._exit(1)
        while True:
            time.sleep(PARENT_POLL_SECONDS)
            if (owner == ppid and os.getppid() != ppid) or not _pid_alive(owner):
                os._exit(1)

    threading.Thread(target=watch, name="wellposed-parent-watch", daemon=True).start()


def _check_args(func: Any, jobs: Any, scheduler: Any, max_in_flight: Any) -> None:
    if not callable(func):
        raise InvalidSpecError(f"func = {func!r} is not callable; pass a module-level function.")
    check_jobs(jobs)
    if scheduler is not None:
        if not isinstance(scheduler, str) or "://" not in scheduler:
            raise InvalidSpecError(
                f"scheduler = {scheduler!r} is not a Dask scheduler address; write e.g. "
                "'tcp://127.0.0.1:8786' (the address printed by `dask scheduler`)."
            )
        scheme, _, rest = scheduler.partition("://")
        if scheme.lower() not in SCHEDULER_SCHEMES or not rest:
            raise InvalidSpecError(
                f"scheduler = {scheduler!r} has scheme {scheme!r}; use one of "
                f"{', '.join(s + '://' for s in SCHEDULER_SCHEMES)} followed by host:port."
            )
    if max_in_flight is not None:
        validate.integer(max_in_flight, "max_in_flight", low=1, hint="or None")


def ordered_map(
    func: Callable[[T], R],
    iterable: Iterable[T],
    *,
    jobs: int = 1,
    scheduler: str | None = None,
    max_in_flight: int | None = None,
    connect_timeout: float = 20.0,
) -> Iterator[R]:
    """Apply ``func`` to every item and yield the results in input order, with bounded work in flight.

    Parameters
    ----------
    func : callable
        A picklable (module-level) function of one argument when ``jobs > 1`` or ``scheduler`` is given.
    iterable : iterable
        Consumed lazily: at most ``max_in_flight`` items are submitted and not yet yielded, so an
        endless or huge input never sits in memory at once.
    jobs : int
        ``1``: run in this process; ``> 1``: a local process pool of that many workers. Ignored when
        ``scheduler`` is given (the cluster decides how many workers run).
    scheduler : str, optional
        Address of a Dask distributed scheduler (``"tcp://host:8786"``). dask.distributed is imported
        only then; if it is missing, :class:`BackendNotAvailableError` names the package to install.
    max_in_flight : int, optional
        Bound on submitted-but-not-yielded items. Default ``2 * jobs`` for the pool, ``2 ×`` the
        cluster's total worker threads (at least 4) for Dask.
    connect_timeout : float
        Seconds to wait for the Dask scheduler.

    Yields
    ------
    The results ``func(item)`` in the order of ``iterable``. An exception raised by ``func`` is raised
    here at the position of its item; pending work is then cancelled. Closing the generator early
    (``break``) cancels pending work and releases the pool or the client.

    Raises
    ------
    InvalidSpecError
        A parameter is invalid, or the scheduler cannot be reached.
    BackendNotAvailableError
        ``scheduler`` is given but dask.distributed is not installed.

    Examples
    --------
    >>> list(ordered_map(abs, [-3, 1, -2]))
    [3, 1, 2]
    >>> list(ordered_map(abs, range(-5, 0), jobs=2))
    [5, 4, 3, 2, 1]

    Notes
    -----
    Results come back in input order, so a slow item delays the ones behind it by at most
    ``max_in_flight`` items (head-of-line blocking); the bound keeps memory ``O(max_in_flight)``.
    The local pool forks when this process has a single thread (cheap: the parent's imports are
    inherited) and uses a fork server otherwise (forking a multi-threaded process is unsafe). Its
    workers end when this process dies, even by ``kill -9`` (:func:`die_with_parent`).
    """
    _check_args(func, jobs, scheduler, max_in_flight)
    if scheduler is not None:
        if not dask_available():
            raise BackendNotAvailableError(
                f"scheduler = {scheduler!r} needs dask.distributed, which is not installed; run: "
                f"{DASK_INSTALL_HINT}"
            )
        return _dask_map(func, iterable, scheduler, max_in_flight, connect_timeout)
    if jobs == 1:
        return (func(item) for item in iterable)
    return _pool_map(func, iterable, jobs, max_in_flight or 2 * jobs)


def _in_order(submit: Callable[[Any], Any], iterable: Iterable[Any], bound: int,
              pending: collections.deque[Any]) -> Iterator[Any]:
    """Submit items keeping at most ``bound`` in flight; yield their futures in input order.

    ``pending`` is owned by the caller, which cancels what is left in it when it stops early.
    """
    items = iter(iterable)
    exhausted = False
    while True:
        while not exhausted and len(pending) < bound:
            try:
                item = next(items)
            except StopIteration:
                exhausted = True
                break
            pending.append(submit(item))
        if not pending:
            return
        yield pending.popleft()


def _pool_map(func: Callable[[T], R], iterable: Iterable[T], jobs: int, bound: int) -> Iterator[R]:
    import multiprocessing as mp
    from concurrent.futures import Future, ProcessPoolExecutor

    if os.name == "nt":
        method = "spawn"
    else:
        method = "fork" if threading.active_count() == 1 else "forkserver"
    # workers end with this process (a fork-server worker's parent is the fork server: watch us instead)
    executor = ProcessPoolExecutor(max_workers=jobs, mp_context=mp.get_context(method),
                                   initializer=die_with_parent, initargs=(os.getpid(),))
    pending: collections.deque[Future[R]] = collections.deque()
    try:
        for fut in _in_order(lambda item: executor.submit(func, item), iterable, bound, pending):
            yield fut.result()
    finally:
        for fut in pending:
            fut.cancel()
        executor.shutdown(wait=True, cancel_futures=True)


def _dask_map(func: Callable[[T], R], iterable: Iterable[T], address: str, bound: int | None,
              connect_timeout: float) -> Iterator[R]:
    from distributed import Client

    try:
        client = Client(address, timeout=connect_timeout, set_as_default=False)
    except (OSError, TimeoutError) as exc:
        raise InvalidSpecError(
            f"scheduler = {address!r}: cannot reach a Dask scheduler there ({type(exc).__name__}: {exc}); "
            "check the address printed by `dask scheduler`, or drop --scheduler to run locally."
        ) from None
    pending: collections.deque[Any] = collections.deque()
    try:
        if bound is None:
            threads = sum(client.nthreads().values())
            bound = max(4, 2 * threads)
        logger.info("dask: %s, %d item(s) in flight", address, bound)
        for fut in _in_order(lambda item: client.submit(func, item, pure=False), iterable, bound, pending):
            try:
                result = fut.result()
            finally:
                fut.release()
            yield result
    finally:
        for fut in pending:
            fut.cancel()
        client.close()
