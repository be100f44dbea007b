"""Market conventions of interest-rate indices, held as data.

:data:`INDEX_TABLE` lists one index a row; :func:`load_conventions` reads and checks such a
table, and :data:`INDICES` holds the checked rows of the shipped one. Fields:

- ``name``: ``CCY-INDEX`` for overnight indices, ``CCY-INDEX-TENOR`` for term (IBOR) ones.
- ``currency``: ISO code.
- ``tenor``: ``1D`` for overnight indices, else the deposit tenor (``3M``, ``6M``).
- ``fixing_lag``: business days from fixing to value date.
- ``calendar``: fixing calendar, a name :func:`~xiphpc.market.curves.calendar.calendar`
  accepts.
- ``day_count``: one of :data:`~xiphpc.market.curves.daycount.DAY_COUNTS`.
- ``convention``: business-day convention of the value-to-maturity period.
- ``eom`` (attribute ``end_of_month``): whether that period follows the end-of-month rule.
- ``payment_lag``: business days from accrual end to payment in the index's standard swap
  (overnight-indexed swaps pay after the last fixing is published; IBOR swaps pay at period
  end).

Fixing lag, calendar, day count, tenor, convention and end-of-month flag agree with
QuantLib's index classes (``Sofr``, ``Estr``, ``Sonia``, ``Saron``, ``Tonar``,
``USDLibor``, ``Euribor``, ``GBPLibor``, ``Tibor``), the tests check each; payment lags are
the market's OIS standards (SOFR and SARON two days, €STR one, SONIA none, TONA two).
"""

from __future__ import annotations

from dataclasses import dataclass

from xiphpc.market.curves.calendar import CONVENTIONS, calendar, tenor_months
from xiphpc.market.curves.daycount import DAY_COUNTS

__all__ = [
    "CURRENCY_INDEX",
    "INDEX_TABLE",
    "INDICES",
    "IndexConvention",
    "index_convention",
    "load_conventions",
]

INDEX_TABLE = """\
name           currency tenor fixing_lag calendar day_count convention         eom   payment_lag
USD-SOFR       USD      1D    0          US-SOFR  ACT/360   following          false 2
EUR-ESTR       EUR      1D    0          TARGET   ACT/360   following          false 1
GBP-SONIA      GBP      1D    0          UK       ACT/365F  following          false 0
CHF-SARON      CHF      1D    0          CH       ACT/360   following          false 2
JPY-TONA       JPY      1D    0          JP       ACT/365F  following          false 2
USD-LIBOR-3M   USD      3M    2          UK       ACT/360   modified_following true  0
EUR-EURIBOR-3M EUR      3M    2          TARGET   ACT/360   modified_following true  0
EUR-EURIBOR-6M EUR      6M    2          TARGET   ACT/360   modified_following true  0
GBP-LIBOR-6M   GBP      6M    0          UK       ACT/365F  modified_following true  0
JPY-TIBOR-3M   JPY      3M    2          JP       ACT/365F  modified_following false 0
"""

CURRENCY_INDEX: dict[str, str] = {
    "USD": "USD-SOFR",
    "EUR": "EUR-ESTR",
    "GBP": "GBP-SONIA",
    "CHF": "CHF-SARON",
    "JPY": "JPY-TONA",
}
"""Each currency's standard (overnight) index."""

_FIELDS = (
    "name",
    "currency",
    "tenor",
    "fixing_lag",
    "calendar",
    "day_count",
    "convention",
    "eom",
    "payment_lag",
)


@dataclass(frozen=True)
class IndexConvention:
    """One row of an index table; fields as the module describes them."""

    name: str
    currency: str
    tenor: str
    fixing_lag: int
    calendar: str
    day_count: str
    convention: str
    end_of_month: bool
    payment_lag: int
    #: Compounding of an overnight index's coupons by default
    #: (:data:`~xiphpc.market.coupons.COMPOUNDING`) and its days: plain compounding in
    #: arrears, the OIS swap standard, whose payment lag stands in for a lookback.
    compounding: str = "plain"
    compounding_days: int = 0

    @property
    def overnight(self) -> bool:
        """Whether the index is an overnight rate (tenor ``1D``)."""
        return self.tenor == "1D"


def _row(number: int, cells: list[str]) -> IndexConvention:
    where = f"index table row {number}"
    if len(cells) != len(_FIELDS):
        raise ValueError(f"{where}: expected {len(_FIELDS)} fields {_FIELDS}, got {cells}")
    row = dict(zip(_FIELDS, cells, strict=True))
    name = row["name"]
    where = f"{where} ({name})"

    def bad(field: str, why: str) -> ValueError:
        return ValueError(f"{where}, field {field!r}: {why}, got {row[field]!r}")

    if len(row["currency"]) != 3 or not row["currency"].isalpha():
        raise bad("currency", "expected a three-letter ISO code")
    if not name.startswith(row["currency"] + "-"):
        raise bad("name", f"expected the currency prefix {row['currency']}-")
    if row["tenor"] != "1D":
        try:
            tenor_months(row["tenor"])
        except ValueError:
            raise bad("tenor", "expected 1D or a tenor in months or years") from None
    lags = {}
    for field in ("fixing_lag", "payment_lag"):
        if not row[field].isdigit():
            raise bad(field, "expected a whole number of business days")
        lags[field] = int(row[field])
    try:
        calendar(row["calendar"])
    except ValueError as e:
        raise bad("calendar", str(e)) from None
    if row["day_count"] not in DAY_COUNTS:
        raise bad("day_count", f"accepted: {list(DAY_COUNTS)}")
    if row["convention"] not in CONVENTIONS:
        raise bad("convention", f"accepted: {list(CONVENTIONS)}")
    if row["eom"] not in ("true", "false"):
        raise bad("eom", "expected true or false")
    return IndexConvention(
        name=name,
        currency=row["currency"],
        tenor=row["tenor"],
        fixing_lag=lags["fixing_lag"],
        calendar=row["calendar"],
        day_count=row["day_count"],
        convention=row["convention"],
        end_of_month=row["eom"] == "true",
        payment_lag=lags["payment_lag"],
    )


def load_conventions(text: str) -> dict[str, IndexConvention]:
    """Read and check an index table: a header line naming the fields in order, then one
    index a line, fields separated by white space; ``#`` starts a comment.

    Returns
    -------
    dict of str to IndexConvention
        By index name, in table order.

    Raises
    ------
    ValueError
        For a wrong header, a duplicate name, or a bad field, naming the row and field.
    """
    lines = [(i, ln.split("#")[0].split()) for i, ln in enumerate(text.splitlines(), 1)]
    lines = [(i, cells) for i, cells in lines if cells]
    if not lines or tuple(lines[0][1]) != _FIELDS:
        raise ValueError(f"index table: the first line must name the fields {_FIELDS}")
    out: dict[str, IndexConvention] = {}
    for number, cells in lines[1:]:
        conv = _row(number, cells)
        if conv.name in out:
            raise ValueError(f"index table row {number}: duplicate index {conv.name!r}")
        out[conv.name] = conv
    return out


INDICES: dict[str, IndexConvention] = load_conventions(INDEX_TABLE)


def index_convention(name: str) -> IndexConvention:
    """The conventions of an index of :data:`INDICES` (or a currency's standard index).

    Raises
    ------
    ValueError
        For an unknown name, listing the accepted ones.
    """
    key = str(name).strip().upper()
    key = CURRENCY_INDEX.get(key, key)
    if key not in INDICES:
        raise ValueError(
            f"unknown index {name!r}; accepted: {list(INDICES)} or a currency of "
            f"{list(CURRENCY_INDEX)}"
        )
    return INDICES[key]
