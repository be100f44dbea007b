"""Market objects for the cross-asset products: day counts, calendars, schedules, yield
curves (from pillars or bootstrapped from quotes), vol surfaces and credit curves.

Every function here works on whole arrays of trades (dates as ``datetime64[D]``, times in
years ACT/365F from the valuation date); the kernels in :mod:`xiphpc.pricing.kernels` read the
packed
forms (:func:`pack_curves`, :func:`pack_hazards`).
"""

from .bootstrap import Deposit, Fra, Future, OisSwap, Swap, bootstrap_curve, imm_dates, par_rate
from .calendar import (
    CALENDARS,
    CONVENTIONS,
    CURRENCY_CALENDARS,
    WEEKENDS_ONLY,
    Calendar,
    add_months,
    add_tenor,
    calendar,
    joint,
    tenor_months,
)
from .credit import (
    CdsPeriods,
    HazardCurve,
    bootstrap_hazard,
    cds_legs,
    cds_periods,
    pack_hazards,
)
from .curve import INTERPOLATIONS, Curve, CurveSet, as_curve, pack_curves
from .daycount import DAY_COUNTS, year_fraction
from .isda import IsdaPeriods, cds_standard_maturities, isda_periods
from .legs import FixedLeg, FloatLeg, fixed_leg, float_leg, times_from
from .schedule import STUBS, Schedules, generate_schedules
from .surfaces import DeltaSurface, MoneynessSurface, RateVolSurface, grid_vol

__all__ = [
    "CALENDARS",
    "CONVENTIONS",
    "CURRENCY_CALENDARS",
    "DAY_COUNTS",
    "INTERPOLATIONS",
    "STUBS",
    "WEEKENDS_ONLY",
    "Calendar",
    "CdsPeriods",
    "Curve",
    "CurveSet",
    "DeltaSurface",
    "Deposit",
    "FixedLeg",
    "FloatLeg",
    "Fra",
    "Future",
    "HazardCurve",
    "IsdaPeriods",
    "MoneynessSurface",
    "OisSwap",
    "RateVolSurface",
    "Schedules",
    "Swap",
    "add_months",
    "add_tenor",
    "as_curve",
    "bootstrap_curve",
    "bootstrap_hazard",
    "calendar",
    "cds_legs",
    "cds_periods",
    "cds_standard_maturities",
    "fixed_leg",
    "float_leg",
    "generate_schedules",
    "grid_vol",
    "imm_dates",
    "isda_periods",
    "joint",
    "pack_curves",
    "pack_hazards",
    "par_rate",
    "tenor_months",
    "times_from",
    "year_fraction",
]
