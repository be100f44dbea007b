"""``xiphpc validate``: every trade-level problem of a job, without pricing (serial)."""

from __future__ import annotations

import numpy as np

from xiphpc.config.errors import Problem
from xiphpc.config.job import JobSpec
from xiphpc.engine.inputs import load_inputs
from xiphpc.engine.price import DUPLICATE_REASON
from xiphpc.pricing.status import Status
from xiphpc.pricing.validation import duplicate_mask, validate_table
from xiphpc.risk.revalue import prepare_risk

__all__ = ["validate_all"]


def validate_all(spec: JobSpec) -> list[Problem]:
    """Every trade-level problem of the job's portfolio against its market (serial)."""
    market, source = load_inputs(spec)
    prepare_risk(spec, market)
    problems: list[Problem] = []
    ids = np.concatenate(
        [source.read(p, columns=("trade_id",))["trade_id"] for p in source.counts()]
    )
    dup = duplicate_mask(ids)
    start = 0
    for product, n in source.counts().items():
        table = source.read(product)
        status, reason = validate_table(table, market)
        reason = reason.astype(object)
        d = dup[start : start + n] & (status == Status.OK)
        status[d] = Status.DUPLICATE_ID
        reason[d] = DUPLICATE_REASON
        for i in np.flatnonzero(status):
            problems.append(
                Problem(
                    table.source,
                    f"row {i + 1}",
                    f"{Status(status[i]).label}: {reason[i]}",
                    trade=str(table["trade_id"][i]),
                )
            )
        start += n
    return problems
