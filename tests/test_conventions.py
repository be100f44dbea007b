"""Index conventions table: the loader's checks, and the shipped rows against QuantLib's
index classes (fixing lag, fixing calendar day by day, day count, tenor, business-day
convention, end-of-month flag)."""

from __future__ import annotations

import numpy as np
import pytest
from markets import qdate

from xiphpc.market.conventions import (
    CURRENCY_INDEX,
    INDEX_TABLE,
    INDICES,
    index_convention,
    load_conventions,
)
from xiphpc.market.curves import calendar

ql = pytest.importorskip("QuantLib")

QUANTLIB = {
    "USD-SOFR": lambda: ql.Sofr(),
    "EUR-ESTR": lambda: ql.Estr(),
    "GBP-SONIA": lambda: ql.Sonia(),
    "CHF-SARON": lambda: ql.Saron(),
    "JPY-TONA": lambda: ql.Tonar(),
    "USD-LIBOR-3M": lambda: ql.USDLibor(ql.Period("3M")),
    "EUR-EURIBOR-3M": lambda: ql.Euribor3M(),
    "EUR-EURIBOR-6M": lambda: ql.Euribor6M(),
    "GBP-LIBOR-6M": lambda: ql.GBPLibor(ql.Period("6M")),
    "JPY-TIBOR-3M": lambda: ql.Tibor(ql.Period("3M")),
}
QL_DAY_COUNT = {"ACT/360": "Actual/360", "ACT/365F": "Actual/365 (Fixed)"}
QL_CONVENTION = {"following": ql.Following, "modified_following": ql.ModifiedFollowing}
DAYS = np.arange(np.datetime64("2000-01-01"), np.datetime64("2041-01-01"))


def test_every_index_has_a_quantlib_twin():
    assert set(QUANTLIB) == set(INDICES)
    assert set(CURRENCY_INDEX.values()) <= set(INDICES)


@pytest.mark.parametrize("name", list(QUANTLIB))
def test_index_conventions_match_quantlib(name):
    conv = INDICES[name]
    ref = QUANTLIB[name]()
    assert conv.fixing_lag == ref.fixingDays()
    assert QL_DAY_COUNT[conv.day_count] == ref.dayCounter().name()
    assert ql.Period(conv.tenor) == ref.tenor()
    assert QL_CONVENTION[conv.convention] == ref.businessDayConvention()
    assert conv.end_of_month == ref.endOfMonth()
    assert conv.overnight == (conv.tenor == "1D")
    fixing = ref.fixingCalendar()
    want = np.array([fixing.isBusinessDay(qdate(d)) for d in DAYS])
    assert np.array_equal(calendar(conv.calendar).is_business_day(DAYS), want)


def test_lookup_by_name_or_currency():
    assert index_convention("usd") is INDICES["USD-SOFR"]
    assert index_convention("eur-euribor-6m").tenor == "6M"
    with pytest.raises(ValueError, match="unknown index 'USD-FOO'.*accepted"):
        index_convention("USD-FOO")


HEADER = INDEX_TABLE.splitlines()[0]


@pytest.mark.parametrize(
    ("row", "message"),
    [
        ("USD-X USD 1D 0 US-SOFR ACT/360 following false", "expected 9 fields"),
        ("USD-X US 1D 0 US-SOFR ACT/360 following false 2", "'currency'.*three-letter"),
        ("EUR-X USD 1D 0 US-SOFR ACT/360 following false 2", "'name'.*prefix USD-"),
        ("USD-X USD 3Q 0 US-SOFR ACT/360 following false 2", "'tenor'"),
        ("USD-X USD 1D -1 US-SOFR ACT/360 following false 2", "'fixing_lag'.*whole number"),
        ("USD-X USD 1D 0 NYC ACT/360 following false 2", "'calendar'.*unknown calendar 'NYC'"),
        ("USD-X USD 1D 0 US-SOFR ACT/366 following false 2", "'day_count'.*accepted"),
        ("USD-X USD 1D 0 US-SOFR ACT/360 nearest false 2", "'convention'.*accepted"),
        ("USD-X USD 1D 0 US-SOFR ACT/360 following yes 2", "'eom'"),
        ("USD-X USD 1D 0 US-SOFR ACT/360 following false x", "'payment_lag'"),
    ],
)
def test_loader_names_row_and_field(row, message):
    with pytest.raises(ValueError, match=f"row 2.*{message}"):
        load_conventions(f"{HEADER}\n{row}\n")


def test_loader_header_duplicates_and_comments():
    with pytest.raises(ValueError, match="first line"):
        load_conventions("name currency\n")
    row = "USD-X USD 1D 0 US-SOFR ACT/360 following false 2"
    with pytest.raises(ValueError, match="row 3: duplicate index 'USD-X'"):
        load_conventions(f"{HEADER}\n{row}\n{row}\n")
    got = load_conventions(f"# conventions\n{HEADER}\n\n{row}  # a comment\n")
    assert got["USD-X"].payment_lag == 2 and got["USD-X"].end_of_month is False
