"""Stage 1, read the inputs: the market, the portfolio source and the risk set-up of a job."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass

from xiphpc.config.errors import JobError, Problem
from xiphpc.config.job import JobSpec
from xiphpc.io.portfolio import GeneratedSource, PortfolioSource, SelectedSource, open_portfolio
from xiphpc.market.data import Market, load_market
from xiphpc.market.fixings import load_fixings
from xiphpc.parallel.mpi import Comm
from xiphpc.parallel.workshare import agreed
from xiphpc.risk.revalue import RiskSetup, prepare_risk

__all__ = ["JobInputs", "load_inputs", "read_inputs"]


@dataclass(frozen=True)
class JobInputs:
    """Everything a run reads before it looks at a single trade.

    Attributes
    ----------
    spec : JobSpec
    market : Market
    source : PortfolioSource
        Row ranges of every product table; trades are read later, each rank its own.
    risk : RiskSetup or None
        Factors, bumps and scenarios; None when the job asks for no risk.
    """

    spec: JobSpec
    market: Market
    source: PortfolioSource
    risk: RiskSetup | None


def load_inputs(spec: JobSpec) -> tuple[Market, PortfolioSource]:
    """Market and portfolio source of a job; raises :class:`JobError` on any problem."""
    if spec.market.path is not None:
        market = load_market(spec.input_path(spec.market.path))
    else:
        from xiphpc.synth.generate import generate_market

        kw = {"valuation_date": spec.valuation_date} if spec.valuation_date else {}
        market = generate_market(spec.market.generate.seed, **kw)
    if spec.market.fixings is not None:
        try:
            fixings = load_fixings(spec.input_path(spec.market.fixings))
        except ValueError as e:
            raise JobError([Problem(spec.source, "market.fixings", str(e))]) from None
        market = dataclasses.replace(market, fixings=fixings)
    if spec.valuation_date is not None and spec.valuation_date != market.valuation_date:
        raise JobError(
            [
                Problem(
                    spec.source,
                    "valuation_date",
                    f"{spec.valuation_date} differs from the market's {market.valuation_date} "
                    f"({market.source})",
                )
            ]
        )
    if spec.portfolio.path is not None:
        source = open_portfolio(spec.input_path(spec.portfolio.path))
    else:
        g = spec.portfolio.generate
        source = GeneratedSource(g.trades, g.seed, g.bad_fraction, market.valuation_date)
    if spec.portfolio.products is not None:
        source = SelectedSource(source, spec.portfolio.products)
    if sum(source.counts().values()) == 0:
        raise JobError([Problem(source.description, "", "the portfolio holds no trade")])
    return market, source


def read_inputs(spec: JobSpec, comm: Comm) -> JobInputs:
    """Every rank reads the inputs itself; a job-level problem on any rank stops all ranks
    alike with that rank's problems.

    Raises
    ------
    JobError
        On every rank, when the market, the portfolio or the risk set-up is unusable.
    """

    def read() -> JobInputs:
        market, source = load_inputs(spec)
        return JobInputs(spec, market, source, prepare_risk(spec, market))

    return agreed(comm, read)
