"""Conventions of the ISDA CDS Standard Model: the standard premium schedule, step-in and
cash settlement dates, the accrued premium, and standard maturities from tenors.

A trade valued on date ``T`` (the trade date of a new trade):

- Step-in ``T + 1`` calendar day: protection runs from the end of ``T`` to the end of the
  maturity date (both observed at the start of the following day, as the ISDA model's
  ``obsStartOfDay``).
- Cash settlement of the upfront ``T + 3`` business days.
- Premium dates: the IMM dates 20 Mar, 20 Jun, 20 Sep and 20 Dec, each moved to a business day
  by ``following``; the first period starts on the last IMM date on or before ``T`` (one
  quarter earlier when that date's business day falls after ``T``) and the last ends on the
  (unadjusted) maturity. A maturity off the IMM dates ends a short last period; the standard
  trades mature on an IMM date (:func:`cds_standard_maturities`).
- Premium accrues ACT/360, the last period including the maturity day (``+1`` day); each
  premium is paid at its period's adjusted end if the name survives that period's last
  protected day.
- The accrued premium of a new trade is the current period's accrual from its start to the
  step-in date (none when the step-in date is a premium date).

QuantLib's ``CreditDefaultSwap`` with ``DateGeneration.CDS2015``, ``Actual360(True)`` for the
last period and ``cdsMaturity`` generates the same dates.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import numpy as np

from .calendar import WEEKENDS_ONLY, Calendar, add_months, tenor_months
from .legs import times_from

__all__ = [
    "IsdaPeriods",
    "cds_standard_maturities",
    "isda_periods",
    "previous_imm_date",
]

#: Business days from the trade date to the cash settlement of the upfront.
CASH_SETTLEMENT_DAYS = 3


def previous_imm_date(d: dt.date) -> dt.date:
    """The last 20 Mar/Jun/Sep/Dec on or before ``d``."""
    y, m = d.year, d.month
    if d.day < 20:
        m -= 1
    m -= m % 3
    if m <= 0:
        y, m = y - 1, m + 12
    return dt.date(y, m, 20)


def cds_standard_maturities(valuation_date: dt.date, tenors) -> np.ndarray:
    """Maturities of the on-the-run standard CDS of ``tenors`` (``"5Y"``, ``"6M"``: whole
    quarters) traded on ``valuation_date``, shape ``(k,)`` datetime64[D].

    The semi-annual roll: from 20 Mar to 19 Sep a ``5Y`` CDS matures on 20 Jun five years on,
    from 20 Sep to 19 Mar on 20 Dec (QuantLib's ``cdsMaturity`` with ``CDS2015``).

    Raises
    ------
    ValueError
        For a tenor that is not a whole number of quarters, or ``0M``.
    """
    anchor = previous_imm_date(valuation_date)
    if anchor.month in (6, 12):
        anchor = _shift_months(anchor, -3)
    out = []
    for t in tenors:
        months = tenor_months(t)
        if months <= 0 or months % 3:
            raise ValueError(f"CDS tenor {t!r}: not a positive whole number of quarters")
        out.append(np.datetime64(_shift_months(anchor, months + 3), "D"))
    return np.array(out, dtype="datetime64[D]")


def _shift_months(d: dt.date, months: int) -> dt.date:
    return add_months(np.array([np.datetime64(d, "D")]), months)[0].astype(dt.date)


@dataclass(frozen=True)
class IsdaPeriods:
    """Premium periods of ``n`` CDS under the ISDA conventions, ragged (CSR), times in years
    ACT/365F from the valuation date ``T``.

    Attributes
    ----------
    offsets : ndarray of int64, shape ``(n + 1,)``
    start : ndarray, shape ``(m,)``
        Accrual start (adjusted).
    end : ndarray, shape ``(m,)``
        Last protected day of the period, one day before the accrual end (the maturity itself
        for the last period): the premium's survival is observed there and default accrual
        stops there.
    pay : ndarray, shape ``(m,)``
        Payment (the adjusted accrual end).
    accrual : ndarray, shape ``(m,)``
        ACT/360 fraction of the period, the last one with its maturity day.
    maturity : ndarray, shape ``(n,)``
        End of protection.
    accrued : ndarray, shape ``(n,)``
        ACT/360 fraction accrued from the current period's start to the step-in date.
    step_in, settlement : float
        Times of the step-in date (``T + 1``) and of the cash settlement (``T + 3`` business
        days).
    """

    offsets: np.ndarray
    start: np.ndarray
    end: np.ndarray
    pay: np.ndarray
    accrual: np.ndarray
    maturity: np.ndarray
    accrued: np.ndarray
    step_in: float
    settlement: float


def isda_periods(
    valuation_date: dt.date, maturity: np.ndarray, *, calendar: Calendar = WEEKENDS_ONLY
) -> IsdaPeriods:
    """Premium periods of CDS traded on ``valuation_date`` maturing on ``maturity``.

    Parameters
    ----------
    valuation_date : datetime.date
    maturity : ndarray of datetime64[D], shape ``(n,)``
        After the valuation date.

    Raises
    ------
    ValueError
        For a maturity on or before the valuation date (the product flags those as
        expired before pricing).
    """
    maturity = np.asarray(maturity, dtype="datetime64[D]")
    today = np.datetime64(valuation_date, "D")
    if np.any(maturity <= today):
        raise ValueError("CDS maturities must be after the valuation date")
    first = previous_imm_date(valuation_date)
    if calendar.adjust(np.array([np.datetime64(first, "D")]), "following")[0] > today:
        first = _shift_months(first, -3)
    # Every IMM date from the first accrual start to the last maturity: all trades share them.
    last = maturity.max() if maturity.size else today
    n_imm = int(np.ceil(((last - np.datetime64(first, "D")).astype(np.int64) + 1) / 89.0)) + 2
    imm = add_months(np.full(n_imm, np.datetime64(first, "D")), 3 * np.arange(n_imm))
    imm_adj = calendar.adjust(imm, "following")
    # Trade i has the IMM dates whose business day is before its maturity, then the maturity.
    n_per = np.searchsorted(imm_adj, maturity, side="left")
    offsets = np.concatenate(([0], np.cumsum(n_per))).astype(np.int64)
    k = np.arange(offsets[-1]) - np.repeat(offsets[:-1], n_per)
    start = imm_adj[k]
    is_last = np.zeros(offsets[-1], dtype=bool)
    is_last[offsets[1:] - 1] = True
    mat = np.repeat(maturity, n_per)
    acc_end = np.where(is_last, mat + 1, imm_adj[np.minimum(k + 1, n_imm - 1)])
    pay = np.where(is_last, calendar.adjust(mat, "following"), acc_end)
    step_in = today + 1
    # The current period: the first one paid after the step-in date.
    paid = np.concatenate(([0], np.cumsum(pay <= step_in)))
    cur = offsets[:-1] + paid[offsets[1:]] - paid[offsets[:-1]]
    accrued_days = np.zeros(maturity.size)
    live = cur < offsets[1:]
    accrued_days[live] = np.maximum((step_in - start[cur[live]]).astype(np.float64), 0.0)
    settle = calendar.advance(calendar.adjust(np.array([today]), "preceding"), CASH_SETTLEMENT_DAYS)
    return IsdaPeriods(
        offsets,
        times_from(valuation_date, start),
        times_from(valuation_date, acc_end - 1),
        times_from(valuation_date, pay),
        (acc_end - start).astype(np.float64) / 360.0,
        times_from(valuation_date, maturity),
        accrued_days / 360.0,
        1.0 / 365.0,
        float(times_from(valuation_date, settle)[0]),
    )
