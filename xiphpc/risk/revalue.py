"""Bucketed sensitivities and scenario P&L of one slice of trades, in the base currency.

Both are revaluations under shifted risk factors:

- sensitivities bump each factor a trade depends on up and down (central differences) and
  report ``(PV(+h) - PV(-h)) / (2h) * unit``: PV change per 1bp (rates), per +1% (FX and equity
  spots) or per vol point (vols), whatever the bump size ``h``;
- scenario P&L is ``PV(scenario) - PV(base)`` for every scenario of a set (historical days,
  named stresses).

Each product declares how it is revalued (:class:`~xiphpc.pricing.products.Revaluation`), and
the functions here dispatch on that declaration: with market inputs
(:mod:`xiphpc.pricing.inputs`) every (trade, scenario) pair becomes one row of one kernel call, in
chunks of at most :data:`MAX_ROWS` rows, or every scenario of a trade one column of a fused
scenario kernel; products whose market is curves only (rates, CDS) value every trade under
every curve state — each scenario, or each bump of the factors a trade names — in one kernel
call as well (:class:`~xiphpc.market.curve_states.CurveStates`); the others are revalued on a
whole shifted market per scenario and per bump.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass

import numpy as np

from xiphpc.config.errors import JobError, Problem
from xiphpc.io.text import unique_inverse
from xiphpc.market.curve_states import CurveStates
from xiphpc.market.data import Market
from xiphpc.market.factors import FactorSet, factor_set, shifted_market
from xiphpc.pricing.inputs import bump_shifts, fx_to_base_input, no_shift
from xiphpc.pricing.products import PricingContext, Product, Revaluation, Table

__all__ = [
    "FACTOR_UNITS",
    "FACTOR_UNIT_TEXT",
    "MAX_ROWS",
    "RiskSetup",
    "bump_sizes",
    "prepare_risk",
    "stress_shifts",
    "scenario_pnl",
    "sensitivities",
]

#: Rows (trade × scenario) evaluated per kernel call; bounds memory to a few hundred MB.
MAX_ROWS = 1 << 20

#: Reporting unit of each factor kind: sensitivities are PV changes per this move.
FACTOR_UNITS = {
    "ir": 1e-4,
    "fx": 0.01,
    "eq": 0.01,
    "eqvol": 0.01,
    "fxvol": 0.01,
    "cs": 1e-4,
    "cmd": 0.01,
    "cmdvol": 0.01,
    "irvol": 1e-4,
    "irlvol": 0.01,
}
FACTOR_UNIT_TEXT = {
    "ir": "per 1bp",
    "fx": "per +1%",
    "eq": "per +1%",
    "eqvol": "per vol point",
    "fxvol": "per vol point",
    "cs": "per 1bp of hazard rate",
    "cmd": "per +1%",
    "cmdvol": "per vol point",
    "irvol": "per 1bp of normal vol",
    "irlvol": "per vol point",
}


def bump_sizes(
    factors: FactorSet,
    ir: float,
    fx: float,
    eq: float,
    vol: float,
    cs: float = 1e-4,
    nvol: float = 1e-5,
) -> np.ndarray:
    """Bump size per factor, shape ``(F,)``: ``nvol`` for normal (rate-unit) vols, ``vol``
    for the lognormal ones."""
    # Commodity futures are bumped as equity spots, commodity vols as the other vols.
    size = {
        "ir": ir,
        "fx": fx,
        "eq": eq,
        "eqvol": vol,
        "fxvol": vol,
        "cs": cs,
        "cmd": eq,
        "cmdvol": vol,
        "irvol": nvol,
        "irlvol": vol,
    }
    return np.array([size[k] for k in factors.kind], dtype=np.float64)


def _pv_base(
    product: Product,
    static: dict,
    inputs: dict,
    fx_in,
    trades: np.ndarray,
    shift,
    ctx: PricingContext,
) -> np.ndarray:
    """PV in base currency of rows ``trades`` under ``shift``, shape ``(m,)``."""
    evaluated = {k: v.value(trades, shift) for k, v in inputs.items()}
    rows_static = {k: v[trades] for k, v in static.items()}
    pv = product.value(rows_static, evaluated, ctx)["pv"]
    return pv * fx_in.value(trades, shift)


def _trade_factors(inputs: dict, fx_in) -> np.ndarray:
    """Distinct factors each trade depends on, shape ``(n, K)``, padded with -1."""
    cols = [f for inp in [*inputs.values(), fx_in] for f in inp.factors()]
    if not cols:
        return np.full((0, 0), -1)
    idx = np.sort(np.column_stack(cols), axis=1)
    idx[:, 1:][idx[:, 1:] == idx[:, :-1]] = -1
    idx = -np.sort(-idx, axis=1)  # real factors first, -1 padding last
    keep = (idx >= 0).any(axis=0)
    return idx[:, keep]


def sensitivities(
    product: Product,
    table: Table,
    market: Market,
    factors: FactorSet,
    bumps: np.ndarray,
    ctx: PricingContext,
) -> tuple[np.ndarray, np.ndarray]:
    """Bucketed sensitivities of every trade of ``table`` (all valid) in the base currency.

    Returns
    -------
    factor : ndarray of int64, shape ``(n, K)``
        Factor index of each sensitivity, -1 for padding.
    value : ndarray of float64, shape ``(n, K)``
        PV change per reporting unit (:data:`FACTOR_UNITS`), 0 for padding.
    """
    match product.revaluation:
        case Revaluation.CURVE_STATES:
            by = _state_sensitivities
        case Revaluation.SHIFTED_MARKETS:
            by = _sensitivities_by_market
        case Revaluation.MARKET_INPUTS | Revaluation.FUSED_SCENARIOS:
            by = _input_sensitivities
        case path:
            raise TypeError(f"product {product.name!r}: unknown revaluation {path!r}")
    return by(product, table, market, factors, bumps, ctx)


def _input_sensitivities(product, table, market, factors, bumps, ctx):
    """Sensitivities through market inputs: every (trade, factor it depends on) pair one
    row of a kernel call, at +h and at -h."""
    n = len(table)
    static = product.static(table, market)
    inputs = product.market_inputs(table, market, factors)
    fx_in = fx_to_base_input(market, factors, table["currency"])
    fidx = _trade_factors(inputs, fx_in)
    k = fidx.shape[1]
    value = np.zeros((n, k))
    unit = np.array([FACTOR_UNITS[kd] for kd in factors.kind])
    chunk = max(1, MAX_ROWS // max(1, 2 * k))
    for a in range(0, n, chunk):
        b = min(n, a + chunk)
        f = fidx[a:b].ravel()
        trades = np.repeat(np.arange(a, b), k)
        live = f >= 0
        trades, f = trades[live], f[live]
        h = bumps[f]
        up = _pv_base(product, static, inputs, fx_in, trades, bump_shifts(f, h), ctx)
        dn = _pv_base(product, static, inputs, fx_in, trades, bump_shifts(f, -h), ctx)
        block = np.zeros((b - a) * k)
        block[live] = (up - dn) / (2.0 * h) * unit[f]
        value[a:b] = block.reshape(b - a, k)
    return fidx, value


def _sensitivities_by_market(product, table, market, factors, bumps, ctx):
    """Bump-and-revalue on whole shifted markets, of the factors some trade of the table
    names (:func:`_factors_named`)."""
    unit = np.array([FACTOR_UNITS[kd] for kd in factors.kind])
    named = np.zeros(len(factors), dtype=bool)
    for _, f in _factors_named(table, factors, product.factor_kinds):
        named[f] = True
    columns = []
    for f in range(len(factors)):
        if not named[f]:
            columns.append(np.zeros(len(table)))
            continue
        shift = np.zeros(len(factors))
        shift[f] = bumps[f]
        up = _market_pv_base(product, table, shifted_market(market, factors, shift), ctx)
        shift[f] = -bumps[f]
        dn = _market_pv_base(product, table, shifted_market(market, factors, shift), ctx)
        columns.append((up - dn) / (2.0 * bumps[f]) * unit[f])
    value = np.column_stack(columns) if columns else np.zeros((len(table), 0))
    fidx = np.broadcast_to(np.arange(len(factors)), value.shape).copy()
    fidx[value == 0.0] = -1
    return fidx, np.where(fidx >= 0, value, 0.0)


def _factors_named(
    table: Table, factors: FactorSet, kinds: tuple[str, ...] | None = None
) -> list[tuple[np.ndarray, np.ndarray]]:
    """Trades grouped by the factors they name: ``(rows, factor indices)`` per group.

    A trade depends on the market objects its text columns name (its currency, index,
    reference entity...): every factor of such a name (and of one of ``kinds``, if given) is
    one of its factors, the FX rate of its currency included.
    """
    of_kind = np.ones(len(factors), dtype=bool) if kinds is None else np.isin(factors.kind, kinds)
    n = len(table)
    factor_names = set(factors.name.tolist())
    key = np.full(n, "", dtype=object)
    for values in table.columns.values():
        if values.dtype.kind == "U":
            named = np.where(np.isin(values, list(factor_names)), values, "")
            key = key + "\x1f" + named.astype(object)
    groups = []
    uniq, inverse = unique_inverse(key.astype(str))
    for g, text in enumerate(uniq):
        names = [t for t in text.split("\x1f") if t]
        fidx = np.flatnonzero(np.isin(factors.name, names) & of_kind)
        groups.append((np.flatnonzero(inverse == g), fidx))
    return groups


def _state_sensitivities(product, table, market, factors, bumps, ctx):
    """Sensitivities of a curve product: each trade valued under +h and -h of every factor
    it names, all in one kernel call per group of trades naming the same factors.
    Sensitivities that are exactly zero (pillars beyond a trade's last flow) are dropped."""
    n, n_f = len(table), len(factors)
    unit = np.array([FACTOR_UNITS[kd] for kd in factors.kind])
    fx_in = fx_to_base_input(market, factors, table["currency"])
    groups = _factors_named(table, factors, product.factor_kinds)
    k = max((f.size for _, f in groups), default=0)
    fidx = np.full((n, k), -1)
    value = np.zeros((n, k))
    for rows, f in groups:
        m = f.size
        if m == 0:
            continue
        shifts = np.zeros((2 * m, n_f))
        shifts[np.arange(m), f] = bumps[f]
        shifts[m + np.arange(m), f] = -bumps[f]
        states = CurveStates(shifts, factors)
        sub = table if rows.size == n else table.take(rows)
        fx_sub = _slice_inputs({"fx": fx_in}, rows)["fx"]
        chunk = max(1, MAX_ROWS // (2 * m))
        for a in range(0, rows.size, chunk):
            b = min(rows.size, a + chunk)
            part = sub if (a, b) == (0, rows.size) else sub.take(slice(a, b))
            pv = product.value_states(part, market, states, ctx)
            pv *= fx_sub.dense(a, b, shifts, ctx.parallel).reshape(b - a, 2 * m)
            d = (pv[:, :m] - pv[:, m:]) / (2.0 * bumps[f]) * unit[f]
            value[rows[a:b], :m] = d
            fidx[rows[a:b], :m] = np.where(d != 0.0, f, -1)
    return fidx, np.where(fidx >= 0, value, 0.0)


def _pnl_from_zero_scenario(n: int, shifts: np.ndarray, pv_base) -> np.ndarray:
    """P&L of ``n`` trades under ``shifts`` (shape ``(S, F)``), in chunks of trades.

    ``pv_base(a, b, both)`` is the PV in the base currency of trades ``a:b`` under every row
    of ``both``: the scenarios and, last, a zero scenario, shape ``(b - a, S + 1)``. The base
    is the same kernel under that zero scenario, so that P&L is exactly zero for a zero move.
    """
    s = shifts.shape[0]
    both = np.vstack([shifts, np.zeros((1, shifts.shape[1]))])
    out = np.empty((n, s))
    chunk = max(1, MAX_ROWS // (s + 1))
    for a in range(0, n, chunk):
        b = min(n, a + chunk)
        pv = pv_base(a, b, both)
        out[a:b] = pv[:, :s] - pv[:, s:]
    return out


def _state_pnl(product, table, market, factors, shifts, ctx):
    """Scenario P&L of a curve product: every scenario (and today) as curve states of one
    kernel call."""
    n = len(table)
    fx_in = fx_to_base_input(market, factors, table["currency"])

    def pv_base(a: int, b: int, both: np.ndarray) -> np.ndarray:
        part = table if (a, b) == (0, n) else table.take(slice(a, b))
        pv = product.value_states(part, market, CurveStates(both, factors), ctx)
        return pv * fx_in.dense(a, b, both, ctx.parallel).reshape(b - a, both.shape[0])

    return _pnl_from_zero_scenario(n, shifts, pv_base)


def _market_pv_base(product, table, market, ctx) -> np.ndarray:
    pv = product.price(table, market, dataclasses.replace(ctx, pv_only=True))["pv"]
    return pv * market.fx_to_base(table["currency"])


def _slice_inputs(inputs: dict, a: int | np.ndarray, b: int | None = None) -> dict:
    """Inputs of trades ``a:b``, or of the trades ``a`` (an index array) when ``b`` is
    None: every per-trade array of each input sliced."""
    rows = a if b is None else slice(a, b)
    return {
        k: type(v)(**{f.name: getattr(v, f.name)[rows] for f in dataclasses.fields(v)})
        for k, v in inputs.items()
    }


def scenario_pnl(
    product: Product,
    table: Table,
    market: Market,
    factors: FactorSet,
    shifts: np.ndarray,
    ctx: PricingContext,
) -> np.ndarray:
    """P&L in the base currency of every trade under every scenario.

    Parameters
    ----------
    shifts : ndarray of float64, shape ``(S, F)``
        Factor shifts of each scenario (absolute or relative by kind, :mod:`xiphpc.market.factors`).

    Returns
    -------
    ndarray of float64, shape ``(n, S)``
    """
    match product.revaluation:
        case Revaluation.CURVE_STATES:
            by = _state_pnl
        case Revaluation.SHIFTED_MARKETS:
            by = _market_pnl
        case Revaluation.FUSED_SCENARIOS:
            by = _fused_pnl
        case Revaluation.MARKET_INPUTS:
            by = _input_pnl
        case path:
            raise TypeError(f"product {product.name!r}: unknown revaluation {path!r}")
    return by(product, table, market, factors, shifts, ctx)


def _market_pnl(product, table, market, factors, shifts, ctx):
    """Scenario P&L on one whole shifted market per scenario."""
    out = np.empty((len(table), shifts.shape[0]))
    base = _market_pv_base(product, table, market, ctx)
    for j in range(shifts.shape[0]):
        moved = shifted_market(market, factors, shifts[j])
        out[:, j] = _market_pv_base(product, table, moved, ctx) - base
    return out


def _fused_pnl(product, table, market, factors, shifts, ctx):
    """Scenario P&L with every scenario of a trade in one kernel call
    (:meth:`~xiphpc.pricing.products.Product.value_scenarios`)."""
    static = product.static(table, market)
    inputs = product.market_inputs(table, market, factors)
    fx_in = fx_to_base_input(market, factors, table["currency"])
    return _pnl_from_zero_scenario(
        len(table),
        shifts,
        lambda a, b, both: product.value_scenarios(
            {k: v[a:b] for k, v in static.items()},
            _slice_inputs(inputs, a, b),
            _slice_inputs({"fx": fx_in}, a, b)["fx"],
            both,
            ctx,
        ),
    )


def _input_pnl(product, table, market, factors, shifts, ctx):
    """Scenario P&L with every (trade, scenario) pair one row of a kernel call."""
    n, s = len(table), shifts.shape[0]
    out = np.empty((n, s))
    static = product.static(table, market)
    inputs = product.market_inputs(table, market, factors)
    fx_in = fx_to_base_input(market, factors, table["currency"])
    base = _pv_base(product, static, inputs, fx_in, np.arange(n), no_shift, ctx)
    chunk = max(1, MAX_ROWS // max(1, s))
    shifts = np.ascontiguousarray(shifts, dtype=np.float64)
    par = ctx.parallel
    pv_ctx = dataclasses.replace(ctx, pv_only=True)
    for a in range(0, n, chunk):
        b = min(n, a + chunk)
        evaluated = {k: v.dense(a, b, shifts, par) for k, v in inputs.items()}
        rows_static = {k: np.repeat(v[a:b], s) for k, v in static.items()}
        pv = product.value(rows_static, evaluated, pv_ctx)["pv"]
        pv *= fx_in.dense(a, b, shifts, par)
        out[a:b] = pv.reshape(b - a, s) - base[a:b, None]
    return out


@dataclass(frozen=True)
class RiskSetup:
    """What a job's ``[risk]`` section asks for, resolved against today's market.

    Attributes
    ----------
    factors : FactorSet
    bumps : ndarray, shape ``(F,)``, or None when no sensitivities are asked for
    hist_shifts : ndarray, shape ``(S, F)``; hist_dates : ndarray of datetime64[D], ``(S,)``
    stress_shifts : ndarray, shape ``(T, F)``; stress_names : list of str
    held : tuple of str
        Factors the history lacks, held at today's level in every historical scenario.
    trade_sensitivities : bool
        Keep each trade's sensitivities, not only their sums by node.
    """

    factors: FactorSet
    bumps: np.ndarray | None
    hist_shifts: np.ndarray
    hist_dates: np.ndarray
    stress_shifts: np.ndarray
    stress_names: list[str]
    var_confidence: float = 0.99
    es_confidence: float = 0.975
    trade_pnl: bool = False
    held: tuple[str, ...] = ()
    trade_sensitivities: bool = False

    @property
    def n_columns(self) -> int:
        """Aggregate columns: sensitivities, historical scenarios, stresses."""
        n_sens = len(self.factors) if self.bumps is not None else 0
        return n_sens + self.hist_shifts.shape[0] + self.stress_shifts.shape[0]


def stress_shifts(
    factors: FactorSet, patterns: dict[str, float], name: str, source: str
) -> np.ndarray:
    """Shift vector (shape ``(F,)``) of one named stress; a pattern matching no factor is an
    error, and each factor takes the first matching pattern's shift."""
    shift = np.zeros(len(factors))
    taken = np.zeros(len(factors), dtype=bool)
    problems = []
    for pattern, amount in patterns.items():
        hit = factors.match(pattern)
        if not hit.any():
            problems.append(
                Problem(
                    source,
                    f"risk.stress.{name}.shifts",
                    f"pattern {pattern!r} matches no risk factor",
                )
            )
        new = hit & ~taken
        shift[new] = amount
        taken |= hit
    if problems:
        raise JobError(problems)
    return shift


def prepare_risk(spec, market: Market) -> RiskSetup | None:
    """Resolve ``spec.risk`` against ``market``; None when the job asks for no risk.

    Raises
    ------
    JobError
        History file unreadable or missing factors, stress patterns matching nothing.
    """
    from xiphpc.io.history import generate_history, historical_shifts, load_history, missing_factors

    risk = spec.risk
    if not risk.enabled:
        return None
    factors = factor_set(market)
    f = len(factors)
    bumps = None
    if risk.sensitivities:
        b = risk.bumps
        bumps = bump_sizes(factors, b.ir, b.fx, b.eq, b.vol, b.cs, b.nvol)
    hist = np.zeros((0, f))
    dates = np.zeros(0, dtype="datetime64[D]")
    held: tuple[str, ...] = ()
    h = risk.historical
    if h is not None:
        if h.path is not None:
            history = load_history(spec.input_path(h.path))
        else:
            history = generate_history(market, h.generate.days, h.generate.seed)
        hold = h.missing_factors == "hold"
        hist, dates = historical_shifts(history, factors, hold_missing=hold)
        held = tuple(missing_factors(history, factors))
    stress = np.array(
        [stress_shifts(factors, s.shifts, s.name, spec.source) for s in risk.stress]
    ).reshape(len(risk.stress), f)
    return RiskSetup(
        factors,
        bumps,
        hist,
        dates,
        stress,
        [s.name for s in risk.stress],
        h.var_confidence if h else 0.99,
        h.es_confidence if h else 0.975,
        bool(h and h.trade_pnl),
        held,
        risk.trade_sensitivities,
    )
