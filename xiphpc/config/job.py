"""Job files: what to price, with which market, how to aggregate and where to write.

A job file is TOML::

    name = "demo"
    seed = 42                      # Monte Carlo draws derive from it and the trade ids

    [portfolio]
    path = "data/portfolio.h5"     # HDF5 file or folder of CSV files, relative to this file
    # or: generate = { trades = 20000, seed = 7, bad_fraction = 0.01 }
    # products = ["equity_option"]  # only these tables (default: all)

    [market]
    path = "data/market.json"      # or: generate = { seed = 7 }
    # fixings = "fixings.csv"      # past index fixings (index,date,value) of seasoned trades

    [aggregation]
    levels = ["desk", "book", "currency", "underlying"]

    [run]
    partitions = 64                # default: 64, or one per 16,384 trades when more
    balance = "dynamic"            # ranks take partitions as they ask; or "static"
    threads_per_rank = 1

    [risk]                         # optional
    sensitivities = true           # bucketed, by factor (bumps = { ir = 1e-4, ... })
    historical = { generate = { days = 251, seed = 1 } }   # or path = "history.h5"
    stress = [{ name = "rates +100bp", shifts = { "ir:*" = 0.01 } }]

    [output]
    path = "results/demo.h5"       # relative to the current folder
    trades = true                  # write per-trade results

Unknown keys are errors (a typo must not silently fall back to a default), and so are values
of the wrong type: ``partitions = "64"``, ``trades = "yes"`` or ``threads_per_rank = true`` are
refused, not converted; numbers must be finite; seeds are whole numbers from 0.
"""

from __future__ import annotations

import datetime as dt
import tomllib
from pathlib import Path
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from .errors import JobError, Problem
from .names import MEASURES, PRODUCT_NAMES

__all__ = ["AGGREGATION_KEYS", "JobSpec", "load_job"]

#: Columns a portfolio can be aggregated by (every product has them, or "" where it has not).
AGGREGATION_KEYS = ("desk", "book", "counterparty", "currency", "underlying", "product")


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, strict=True, allow_inf_nan=False)


#: A seed: Monte Carlo keys and generators take whole numbers from 0 to 2**63 - 1.
Seed = Annotated[int, Field(ge=0)]


class GenerateSpec(_Strict):
    """A synthetic portfolio, generated identically on every rank."""

    trades: Annotated[int, Field(gt=0, le=100_000_000)]
    seed: Seed = 0
    bad_fraction: Annotated[float, Field(ge=0.0, le=0.5)] = 0.0


class MarketGenerateSpec(_Strict):
    seed: Seed = 0


class PortfolioSpec(_Strict):
    path: str | None = None
    generate: GenerateSpec | None = None
    #: Price only these product tables (e.g. one job per product line, merged afterwards).
    products: list[str] | None = None

    @model_validator(mode="after")
    def _one_source(self) -> PortfolioSpec:
        if (self.path is None) == (self.generate is None):
            raise ValueError("give exactly one of 'path' or 'generate'")
        bad = [p for p in self.products or [] if p not in PRODUCT_NAMES]
        if bad:
            raise ValueError(f"unknown products {bad}; accepted: {list(PRODUCT_NAMES)}")
        return self


class MarketSpec(_Strict):
    path: str | None = None
    generate: MarketGenerateSpec | None = None
    #: Past fixings of rate indices (CSV or JSON: index, date, value), for seasoned trades.
    fixings: str | None = None

    @model_validator(mode="after")
    def _one_source(self) -> MarketSpec:
        if (self.path is None) == (self.generate is None):
            raise ValueError("give exactly one of 'path' or 'generate'")
        return self


class AggregationSpec(_Strict):
    levels: list[str] = ["desk", "book", "currency", "underlying"]

    @model_validator(mode="after")
    def _known(self) -> AggregationSpec:
        bad = [lv for lv in self.levels if lv not in AGGREGATION_KEYS]
        if bad:
            raise ValueError(f"unknown levels {bad}; accepted: {list(AGGREGATION_KEYS)}")
        if len(set(self.levels)) != len(self.levels):
            raise ValueError("a level is listed twice")
        return self


#: Trades per partition above which the default number of partitions grows past 64.
TRADES_PER_PARTITION = 16_384


class RunSpec(_Strict):
    #: Results depend on the number of partitions (the order of additions), never on the
    #: number of ranks; by default it depends on the number of trades only.
    partitions: Annotated[int, Field(gt=0, le=1_000_000)] | None = None
    #: "dynamic": ranks take runs of partitions as they ask for them (a slow rank takes
    #: fewer); "static": each rank prices a fixed, cost-balanced block. Results are the same.
    balance: Literal["dynamic", "static"] = "dynamic"
    threads_per_rank: Annotated[int, Field(gt=0, le=1024)] = 1
    #: Consecutive partitions are priced together up to this many trades per pass; a
    #: partition is kept for ``--resume`` and reported when its pass ends. Results do not
    #: depend on it.
    trades_per_pass: Annotated[int, Field(gt=0, le=100_000_000)] = 4096

    def n_partitions(self, n_trades: int) -> int:
        """The partitions of a portfolio of ``n_trades``: as set, else 64 or one per
        :data:`TRADES_PER_PARTITION` trades, whichever is more."""
        if self.partitions is not None:
            return self.partitions
        return max(64, -(-n_trades // TRADES_PER_PARTITION))


class HistoryGenerateSpec(_Strict):
    days: Annotated[int, Field(ge=2, le=100_000)]
    seed: Seed = 0


class HistoricalSpec(_Strict):
    """Historical simulation: one-day moves of a market-data history applied to today."""

    path: str | None = None
    generate: HistoryGenerateSpec | None = None
    var_confidence: Annotated[float, Field(gt=0.5, lt=1.0)] = 0.99
    es_confidence: Annotated[float, Field(gt=0.5, lt=1.0)] = 0.975
    trade_pnl: bool = False
    #: A market factor the history lacks: stop the job ("error") or hold it at today's level
    #: in every scenario ("hold"; the held factors are listed in the output).
    missing_factors: Literal["error", "hold"] = "error"

    @model_validator(mode="after")
    def _one_source(self) -> HistoricalSpec:
        if (self.path is None) == (self.generate is None):
            raise ValueError("give exactly one of 'path' or 'generate'")
        return self


class StressSpec(_Strict):
    """A named stress: factor-label patterns (``"ir:*"``, ``"eq:ACME"``) and their shifts;
    each factor takes the shift of the first pattern that matches it."""

    name: Annotated[str, Field(min_length=1)]
    shifts: dict[str, float]


class BumpSpec(_Strict):
    """Bump sizes of the sensitivities: rates absolute, FX and equity spots relative, vols
    absolute (``vol`` lognormal, ``nvol`` normal rate vols in rate units), hazard rates
    (``cs``) absolute."""

    ir: Annotated[float, Field(gt=0.0, le=0.01)] = 1e-4
    fx: Annotated[float, Field(gt=0.0, le=0.1)] = 1e-3
    eq: Annotated[float, Field(gt=0.0, le=0.1)] = 1e-3
    vol: Annotated[float, Field(gt=0.0, le=0.05)] = 1e-3
    cs: Annotated[float, Field(gt=0.0, le=0.01)] = 1e-4
    nvol: Annotated[float, Field(gt=0.0, le=0.001)] = 1e-5


class RiskSpec(_Strict):
    sensitivities: bool = False
    #: Also write each trade's non-zero sensitivities (``/trade_sensitivities``; read them
    #: in the CRIF layout with :meth:`xiphpc.results.Result.crif`).
    trade_sensitivities: bool = False
    bumps: BumpSpec = BumpSpec()
    historical: HistoricalSpec | None = None
    stress: list[StressSpec] = []

    @model_validator(mode="after")
    def _unique_names(self) -> RiskSpec:
        if self.trade_sensitivities and not self.sensitivities:
            raise ValueError("trade_sensitivities needs sensitivities = true")
        names = [s.name for s in self.stress]
        if len(set(names)) != len(names):
            raise ValueError("stress scenario names must be unique")
        return self

    @property
    def enabled(self) -> bool:
        return self.sensitivities or self.historical is not None or bool(self.stress)


class OutputSpec(_Strict):
    path: str
    trades: bool = True


class JobSpec(_Strict):
    """A validated job file. Relative input paths are resolved against the job file's folder."""

    name: Annotated[str, Field(min_length=1)]
    description: str = ""
    seed: Seed = 0
    valuation_date: dt.date | None = None
    measures: list[str] = list(MEASURES)
    portfolio: PortfolioSpec
    market: MarketSpec
    aggregation: AggregationSpec = AggregationSpec()
    run: RunSpec = RunSpec()
    risk: RiskSpec = RiskSpec()
    output: OutputSpec

    # Set by load_job, not read from the file.
    source: str = ""
    text: str = ""
    folder: str = ""

    @model_validator(mode="before")
    @classmethod
    def _iso_date(cls, doc):
        # valuation_date: a TOML date, or the same as an ISO string ("2026-11-24"); the
        # strict date type refuses anything else.
        value = doc.get("valuation_date") if isinstance(doc, dict) else None
        if isinstance(value, str) and len(value) == 10:
            try:
                return {**doc, "valuation_date": dt.date.fromisoformat(value)}
            except ValueError:
                pass
        return doc

    @model_validator(mode="after")
    def _measures(self) -> JobSpec:
        bad = [m for m in self.measures if m not in MEASURES]
        if bad:
            raise ValueError(f"unknown measures {bad}; accepted: {list(MEASURES)}")
        return self

    def input_path(self, relative: str) -> Path:
        """An input path as given in the job file, resolved against the job file's folder."""
        p = Path(relative).expanduser()
        return p if p.is_absolute() else Path(self.folder) / p

    def output_path(self, override: str | Path | None = None) -> Path:
        """Where the result goes: ``override`` if given, else ``[output] path`` (relative to
        the current folder)."""
        return Path(override or self.output.path).expanduser().absolute()


def load_job(path: str | Path) -> JobSpec:
    """Read and validate a job file; every problem is reported at once.

    Raises
    ------
    JobError
        The file is missing or not TOML, has unknown keys or bad values, or names input files
        that do not exist.
    """
    from xiphpc.io.text import brief, read_text

    path = Path(path)
    src = str(path)
    text = read_text(path, "job file")
    try:
        doc = tomllib.loads(text)
    except (ValueError, RecursionError) as exc:
        # TOMLDecodeError is a ValueError, as is an integer of over 4,300 digits.
        why = "nested too deeply" if isinstance(exc, RecursionError) else str(exc)
        raise JobError([Problem(src, "", f"not valid TOML: {why}")]) from exc
    reserved = [k for k in ("source", "text", "folder") if k in doc]
    if reserved:
        raise JobError([Problem(src, k, "unknown key") for k in reserved])
    try:
        spec = JobSpec.model_validate(
            {**doc, "source": src, "text": text, "folder": str(path.absolute().parent)}
        )
    except ValidationError as exc:
        problems = []
        for err in exc.errors():
            field = ".".join(str(x) for x in err["loc"]) or "(top level)"
            msg = err["msg"].removeprefix("Value error, ")
            if err["type"] == "extra_forbidden":
                msg = "unknown key (misspelt?)"
            elif err["type"] != "missing" and not isinstance(err["input"], dict | list):
                msg += f", got {brief(err['input'])}"
            problems.append(Problem(src, field, msg))
        raise JobError(problems) from exc
    problems = []
    parts = [("portfolio", spec.portfolio), ("market", spec.market)]
    if spec.risk.historical is not None:
        parts.append(("risk.historical", spec.risk.historical))
    for section, spec_part in parts:
        if spec_part.path is not None and not spec.input_path(spec_part.path).exists():
            problems.append(
                Problem(
                    src,
                    f"{section}.path",
                    f"{spec.input_path(spec_part.path)} does not exist (paths are relative to the "
                    "job file's folder)",
                )
            )
    if problems:
        raise JobError(problems)
    return spec
