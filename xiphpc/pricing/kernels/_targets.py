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
    ``range``. A body may unpack the tuples of arrays it reads (``spot, strike = option``),
    but writes only into array arguments and into arrays taken from a tuple argument by
    field or item before the loop (``pv = out.pv``): numba's parallel target does not see
    that names unpacked from a tuple (``pv, delta = out``), or fields read inside the
    ``prange`` loop, alias the argument, and drops their stores as dead, silently and in
    that target only (``numba.core.ir_utils.find_potential_aliases``, numba 0.68).
    """
    opts = {**KERNEL_OPTIONS, **options}
    serial = nb.njit(**opts)(_renamed(func, "_serial"))
    parallel = nb.njit(parallel=True, **opts)(_renamed(func, "_parallel"))
    return serial, parallel
