"""Compile one kernel body for the serial and the parallel (``prange``) targets."""

from __future__ import annotations

import types
from collections.abc import Callable

import numba as nb

KERNEL_OPTIONS = dict(cache=True, fastmath=False, error_model="numpy", nogil=True)


def _renamed(func: Callable, suffix: str) -> Callable:
    # numba's on-disk cache is keyed by the function's qualified name, so the two
    # targets of one body need distinct names or they would load each other's code.
    clone = types.FunctionType(
        func.__code__,
        func.__globals__,
        func.__name__ + suffix,
        func.__defaults__,
        func.__closure__,
    )
    clone.__qualname__ = func.__qualname__ + suffix
    clone.__doc__ = func.__doc__
    return clone


def serial_and_parallel(func: Callable, **options) -> tuple[Callable, Callable]:
    """Return ``(serial, parallel)`` dispatchers compiled from one loop body.

    The body iterates with ``numba.prange``; in the serial target that is a plain
    ``range``.
    """
    opts = {**KERNEL_OPTIONS, **options}
    serial = nb.njit(**opts)(_renamed(func, "_serial"))
    parallel = nb.njit(parallel=True, **opts)(_renamed(func, "_parallel"))
    return serial, parallel
