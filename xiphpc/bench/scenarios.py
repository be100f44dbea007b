"""``xiphpc bench scenarios``: scenario P&L with the scenario axis inside the kernels, against
the same product revalued on one whole shifted market per scenario.

Both paths run :func:`xiphpc.risk.revalue.scenario_pnl` on the same valid trades of a generated
portfolio under the same historical scenarios (a generated history of today's market), one
thread, side by side in one run; the whole-market path is the product declaring
:attr:`~xiphpc.pricing.products.Revaluation.SHIFTED_MARKETS`, so that only ``Product.price`` is
used. Figures are
(trade, scenario) valuations per second, medians of ``--repeat`` timed runs after one
warm-up, and the ratio of the two medians; the P&L of the two paths is also compared.
"""

from __future__ import annotations

import statistics
import time
from dataclasses import asdict, dataclass

import click
import numpy as np

__all__ = ["CURVE_MIX", "scenarios"]

#: Default products: the curve products (rates, CDS) and three options for reference.
CURVE_MIX = (
    "interest_rate_swap",
    "forward_rate_agreement",
    "fixed_rate_bond",
    "cap_floor",
    "swaption",
    "credit_default_swap",
    "equity_option",
    "american_option",
    "asian_option",
)


@dataclass
class PathFigures:
    """One product's figures: valuations per second of each path and their ratio."""

    product: str
    trades: int
    scenarios: int
    kernel_per_s: float
    market_per_s: float
    speedup: float
    max_abs_diff: float


def _whole_market_path(product):
    """``product`` revalued through ``Product.price`` alone, on one shifted market per
    scenario."""
    from xiphpc.pricing.products import Revaluation

    class WholeMarket(type(product)):
        revaluation = Revaluation.SHIFTED_MARKETS

    return WholeMarket()


def _median_seconds(fn, repeat: int) -> tuple[float, object]:
    result = fn()
    times = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        result = fn()
        times.append(time.perf_counter() - t0)
    return statistics.median(times), result


@click.command("scenarios")
@click.option(
    "--trades",
    default=20_000,
    show_default=True,
    type=click.IntRange(1),
    help="Trades of the generated portfolio (all products together).",
)
@click.option("--scenarios", default=250, show_default=True, type=click.IntRange(1))
@click.option(
    "--products",
    default=",".join(CURVE_MIX),
    show_default=True,
    help="Comma-separated registry names.",
)
@click.option("--repeat", default=3, show_default=True, type=click.IntRange(1))
@click.option(
    "--json",
    "json_path",
    type=click.Path(dir_okay=False),
    default=None,
    help="Also write the figures to this JSON file.",
)
def scenarios(
    trades: int, scenarios: int, products: str, repeat: int, json_path: str | None
) -> None:
    """Scenario P&L per product: in-kernel scenario axis against one market per scenario."""

    from xiphpc.bench.kernels import _Threads, _write_json, valid_tables
    from xiphpc.io.history import generate_history, historical_shifts
    from xiphpc.market.factors import factor_set
    from xiphpc.pricing.products import REGISTRY, PricingContext
    from xiphpc.risk.revalue import scenario_pnl
    from xiphpc.synth.generate import generate_market, generate_portfolio

    names = [p.strip() for p in products.split(",") if p.strip()]
    unknown = sorted(set(names) - set(REGISTRY))
    if unknown:
        raise click.BadParameter(f"unknown products {unknown}", param_hint="--products")
    market = generate_market(1)
    factors = factor_set(market)
    shifts, _ = historical_shifts(generate_history(market, scenarios + 1, seed=1), factors)
    tables = generate_portfolio(trades, seed=1, market=market)
    ctx = PricingContext(seed=1, valuation_date=market.valuation_date)
    figures: list[PathFigures] = []
    with _Threads(1):
        for name, table in valid_tables(tables, market, names, trades):
            product = REGISTRY[name]
            other = _whole_market_path(product)
            t_k, pnl_k = _median_seconds(
                lambda p=product, t=table: scenario_pnl(p, t, market, factors, shifts, ctx),
                repeat,
            )
            t_m, pnl_m = _median_seconds(
                lambda p=other, t=table: scenario_pnl(p, t, market, factors, shifts, ctx),
                repeat,
            )
            n_val = len(table) * shifts.shape[0]
            figures.append(
                PathFigures(
                    name,
                    len(table),
                    shifts.shape[0],
                    n_val / t_k,
                    n_val / t_m,
                    t_m / t_k,
                    float(np.max(np.abs(pnl_k - pnl_m))),
                )
            )
    click.echo(
        f"scenario P&L, {shifts.shape[0]} historical scenarios, 1 thread, median of "
        f"{repeat}: k valuations/s"
    )
    click.echo(
        f"  {'product':<24} {'trades':>7} {'in-kernel':>11} {'per-market':>11} "
        f"{'ratio':>7}  max |diff|"
    )
    for f in figures:
        click.echo(
            f"  {f.product:<24} {f.trades:>7,} {f.kernel_per_s / 1e3:>11.1f} "
            f"{f.market_per_s / 1e3:>11.1f} {f.speedup:>6.1f}x  {f.max_abs_diff:.2e}"
        )
    _write_json(
        json_path,
        dict(
            benchmark="scenarios",
            trades=trades,
            repeat=repeat,
            figures=[asdict(f) for f in figures],
        ),
    )
