"""Per-trade status codes written beside every result."""

from __future__ import annotations

from enum import IntEnum

__all__ = ["Status"]


class Status(IntEnum):
    """Why a trade was excluded from the aggregates (``OK`` when it was not)."""

    OK = 0
    MISSING_FIELD = 1
    NOT_A_NUMBER = 2
    NON_POSITIVE_VOL = 3
    NON_POSITIVE_PRICE = 4
    EXPIRED = 5
    UNKNOWN_CURRENCY = 6
    UNKNOWN_UNDERLYING = 7
    DUPLICATE_ID = 8
    BAD_VALUE = 9
    PRICING_FAILED = 10

    @property
    def label(self) -> str:
        """Lower-case label, e.g. ``"non_positive_vol"``."""
        return self.name.lower()

    @classmethod
    def legend(cls) -> str:
        """``"0=ok, 1=missing_field, ..."``, for file attributes and help texts."""
        return ", ".join(f"{s.value}={s.label}" for s in cls)
