"""Value at Risk and Expected Shortfall from P&L vectors.

Conventions: losses are ``-P&L``. With ``S`` scenarios, VaR at confidence ``c`` is the
``k``-th largest loss, ``k = ceil(S * (1 - c))`` (e.g. the 3rd worst of 250 at 99%); ES at
confidence ``c`` is the mean of the ``ceil(S * (1 - c))`` largest losses. Ties are broken by
scenario order. VaR is computed per node from that node's reduced P&L vector, never by adding
the VaRs of its parts.
"""

from __future__ import annotations

import math

import numpy as np

__all__ = ["tail_count", "var_es"]


def tail_count(n_scenarios: int, confidence: float) -> int:
    """Number of scenarios in the tail: ``max(1, ceil(S * (1 - confidence)))``."""
    return max(1, math.ceil(round(n_scenarios * (1.0 - confidence), 9)))


def var_es(
    pnl: np.ndarray, var_confidence: float = 0.99, es_confidence: float = 0.975
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """VaR and ES of each row of ``pnl``.

    Parameters
    ----------
    pnl : ndarray of float64, shape ``(G, S)``
        P&L of each node under each scenario.

    Returns
    -------
    var, es : ndarray of float64, shape ``(G,)``
        Positive numbers are losses.
    var_scenario : ndarray of int64, shape ``(G,)``
        Scenario index of the VaR.
    es_scenarios : ndarray of int64, shape ``(G, k_es)``
        Scenario indices of the ES tail, worst first.
    """
    losses = -np.asarray(pnl, dtype=np.float64)
    s = losses.shape[1]
    order = np.argsort(-losses, axis=1, kind="stable")
    k_var = tail_count(s, var_confidence)
    k_es = tail_count(s, es_confidence)
    var_scenario = order[:, k_var - 1]
    var = np.take_along_axis(losses, var_scenario[:, None], axis=1)[:, 0]
    es_scenarios = order[:, :k_es]
    es = np.take_along_axis(losses, es_scenarios, axis=1).mean(axis=1)
    return var, es, var_scenario, es_scenarios
