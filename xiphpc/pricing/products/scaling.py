"""From per-unit kernel greeks to the engine's position measures."""

from __future__ import annotations

import numpy as np

__all__ = ["cash_measures"]

_DAYS_PER_YEAR = 365.0
_BP = 1e-4
_VOL_POINT = 0.01
_ONE_PERCENT = 0.01


def cash_measures(
    greeks: tuple[np.ndarray, ...], spot: np.ndarray, quantity: np.ndarray, pv_only: bool = False
) -> dict[str, np.ndarray]:
    """Scale per-unit greeks to the measures of :data:`~xiphpc.pricing.products.base.MEASURES`.

    Parameters
    ----------
    greeks : tuple of 6 ndarray, each shape ``(n,)``
        ``pv, delta, gamma, vega, theta, rho`` per unit of underlying as the Black–Scholes
        kernels return them (vega and rho per 1.0, theta per year).
    spot : ndarray, shape ``(n,)``
    quantity : ndarray, shape ``(n,)``
    pv_only : bool
        Return ``pv`` alone (scenario revaluation reads nothing else).
    """
    pv, delta, gamma, vega, theta, rho = greeks
    if pv_only:
        return {"pv": pv * quantity}
    return {
        "pv": pv * quantity,
        "delta": delta * spot * quantity,
        "gamma": gamma * spot * spot * _ONE_PERCENT * quantity,
        "vega": vega * _VOL_POINT * quantity,
        "theta": theta / _DAYS_PER_YEAR * quantity,
        "rho": rho * _BP * quantity,
    }
