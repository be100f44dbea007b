"""Errors a user can act on, and the problems a job file or portfolio can have."""

from __future__ import annotations

from dataclasses import dataclass

__all__ = ["EXIT_BAD_INPUT", "JobError", "Problem", "XiphpcError"]

#: Exit status of ``xiphpc run`` / ``xiphpc validate`` when the job cannot start.
EXIT_BAD_INPUT = 2


class XiphpcError(Exception):
    """Base class of every error the engine raises on purpose."""


@dataclass(frozen=True)
class Problem:
    """One thing wrong with the input, located as precisely as it can be.

    Attributes
    ----------
    file : str
        The file the problem is in (job file, portfolio table, market file).
    field : str
        The key, column or market object concerned (dotted path for nested keys).
    message : str
        What is wrong and, where it helps, what is accepted.
    trade : str or None
        Trade id, for problems of one trade.
    """

    file: str
    field: str
    message: str
    trade: str | None = None

    def __str__(self) -> str:
        where = f"{self.file}: {self.field}" if self.field else self.file
        who = f" (trade {self.trade})" if self.trade is not None else ""
        return f"{where}: {self.message}{who}"


class JobError(XiphpcError, ValueError):
    """The job cannot start: the job file, a portfolio file or the market data is unusable.

    Likely causes: a typo in a key of the job file, a path relative to the wrong folder, a
    market file that does not cover a currency or underlying of the portfolio.
    """

    def __init__(self, problems: list[Problem]):
        self.problems = list(problems)
        super().__init__("\n".join(str(p) for p in self.problems))
