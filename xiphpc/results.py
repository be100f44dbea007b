"""Read a result file into pandas DataFrames.

>>> from xiphpc.results import open_result
>>> with open_result("results/demo.h5") as r:
...     desks = r.var_es("desk")

Every table is a :class:`pandas.DataFrame` in the base currency of the run (``base_currency``)
unless a column says otherwise (see the ``unit`` attributes of the file, described in
:mod:`xiphpc.output.result_file` and :mod:`xiphpc.output.risk_tables`). Text columns whose
values repeat (desk, book, currency, factor, ...) are categoricals; text columns of mostly
distinct values (trade ids) are plain strings. Needs pandas (``pip install 'xiphpc[report]'``).
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

import h5py
import numpy as np

from xiphpc.config.errors import JobError, Problem
from xiphpc.output.result_file import TRADE_COLUMNS

if TYPE_CHECKING:
    import pandas as pd

__all__ = ["CRIF_RISK_TYPES", "STAGES", "Result", "ResultError", "open_result"]

#: Risk type of each factor kind in the CRIF layout (:meth:`Result.crif`).
CRIF_RISK_TYPES = {
    "ir": "Risk_IRCurve",
    "fx": "Risk_FX",
    "eq": "Risk_Equity",
    "eqvol": "Risk_EquityVol",
    "fxvol": "Risk_FXVol",
    "cs": "Risk_CreditQ",
    "cmd": "Risk_Commodity",
    "cmdvol": "Risk_CommodityVol",
    "irvol": "Risk_IRVol",
    "irlvol": "Risk_IRVol",
}

#: Per-rank stage times of ``/diagnostics/ranks``, in the order a rank goes through them.
STAGES = ("read_s", "compute_s", "reduce_s", "write_s")


class ResultError(JobError):
    """A result file is missing, is not a complete result file, or lacks the table asked for.

    The message names the file and, for an absent level or table, what the file holds.
    """

    def __init__(self, path: Path | str, field: str, message: str):
        super().__init__([Problem(str(path), field, message)])


def _pandas():
    try:
        import pandas
    except ImportError as exc:  # pragma: no cover - depends on the installation
        raise ImportError(
            "reading result files into DataFrames needs pandas: pip install 'xiphpc[report]'"
        ) from exc
    return pandas


def _decode(values: np.ndarray) -> np.ndarray:
    """UTF-8 bytes (any shape) to str."""
    try:
        return values.astype(str)  # ASCII, the common case, without a per-element decode
    except UnicodeDecodeError:
        return np.char.decode(values, "utf-8")


def _text_column(values: np.ndarray):
    """A categorical when values repeat (at most half as many distinct values as rows), else
    an array of str."""
    pd = _pandas()
    if values.size == 0:
        return pd.Categorical(np.zeros(0, dtype=str))
    uniq, codes = np.unique(values, return_inverse=True)
    if 2 * uniq.size > values.size:
        return _decode(values)
    return pd.Categorical.from_codes(codes.ravel(), categories=_decode(uniq))


def _ordered(names, first: list[str]) -> list[str]:
    """``names`` with those of ``first`` in its order, then the others in file order."""
    names = list(names)
    return [n for n in first if n in names] + [n for n in names if n not in first]


def _dates(values: np.ndarray) -> np.ndarray:
    """``YYYY-MM-DD`` bytes to datetime64[ns] (the resolution pandas indexes by default)."""
    return _decode(values).astype("datetime64[D]").astype("datetime64[ns]")


class Result:
    """An open result file. Use :func:`open_result`; close it, or use it as a context
    manager.

    Attributes
    ----------
    path : Path
    attrs : dict
        File attributes (name, valuation_date, base_currency, job_text, version_*, ...).
    levels : list of str
        Aggregation levels in file order, ``"total"`` first.
    measures : list of str
        Aggregated measures (``pv``, ``delta``, ...).
    """

    def __init__(self, path: Path, file: h5py.File):
        self.path = path
        self._f = file
        self.attrs: dict[str, Any] = {
            k: v.item() if isinstance(v, np.generic) else v for k, v in file.attrs.items()
        }
        self.levels: list[str] = list(str(self.attrs["levels"]).split(","))
        self.measures: list[str] = list(str(self.attrs["measures"]).split(","))

    # -- file handling ------------------------------------------------------------------

    @property
    def file(self) -> h5py.File:
        """The open :class:`h5py.File`, for datasets no method here covers."""
        return self._f

    @property
    def base_currency(self) -> str:
        return str(self.attrs["base_currency"])

    def close(self) -> None:
        self._f.close()

    def __enter__(self) -> Result:
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def __repr__(self) -> str:
        return f"<Result {self.attrs.get('name')!r} {self.path}>"

    def has(self, group: str) -> bool:
        """Whether the file holds ``group`` (e.g. ``"sensitivities"``, ``"scenarios/stress"``)."""
        return group in self._f

    def risk_levels(self, group: str) -> list[str]:
        """Levels present under a risk group (``"sensitivities"``, ``"par_sensitivities"``,
        ``"scenarios/historical"``, ``"scenarios/stress"``), in the order of :attr:`levels`;
        empty when the group is absent."""
        if group not in self._f:
            return []
        return [lv for lv in self.levels if lv in self._f[group]]

    def _group(self, group: str, what: str) -> h5py.Group:
        if group not in self._f:
            raise ResultError(self.path, group, f"holds no {what}")
        return self._f[group]

    def _level(self, group: str, level: str, what: str) -> h5py.Group:
        g = self._group(group, what)
        if level not in self.levels or level not in g:
            present = ", ".join(lv for lv in self.levels if lv in g)
            raise ResultError(
                self.path, f"{group}/{level}", f"no level {level!r}; present: {present}"
            )
        return g[level]

    # -- tables -------------------------------------------------------------------------

    def trades(self) -> pd.DataFrame:
        """One row per trade, in input order: identifiers, measures (trade currency unless
        the column is ``pv_base``), ``status`` (0 priced) and ``reason``.

        Raises
        ------
        ResultError
            The run did not write per-trade results (``[output] trades = false``).
        """
        pd = _pandas()
        g = self._f["trades"]
        if "trade_id" not in g:
            raise ResultError(self.path, "trades", str(g.attrs.get("omitted", "no trades")))
        ids = [c[0] for c in TRADE_COLUMNS]
        at = ids.index("quantity") + 1
        first = [*ids[:at], *self.measures, "pv_base", *ids[at:]]
        cols = {}
        for name in _ordered(g, first):
            values = g[name][()]
            cols[name] = _text_column(values) if values.dtype.kind == "S" else values
        return pd.DataFrame(cols)

    def aggregates(self, level: str) -> pd.DataFrame:
        """Sums over priced trades by node of ``level``: index the node keys, columns the
        measures (base currency), ``n_trades`` and ``n_excluded``."""
        pd = _pandas()
        g = self._level("aggregates", level, "aggregates")
        index = pd.Index(_decode(g["key"][()]), name=level)
        cols = [n for n in _ordered(g, [*self.measures, "n_trades", "n_excluded"]) if n != "key"]
        return pd.DataFrame({n: g[n][()] for n in cols}, index=index)

    def factors(self, par: bool = False) -> pd.DataFrame:
        """Risk factors: ``label, kind, name, pillar (years), unit, bump``; with ``par`` the
        quotes of the par sensitivities (``label, unit``)."""
        pd = _pandas()
        group = "par_sensitivities" if par else "sensitivities"
        g = self._group(f"{group}/factors", "par sensitivities" if par else "sensitivities")
        cols = {}
        for name in _ordered(g, ["label", "kind", "name", "pillar", "unit", "bump"]):
            values = g[name][()]
            if name == "label":
                cols[name] = _decode(values)
            else:
                cols[name] = _text_column(values) if values.dtype.kind == "S" else values
        return pd.DataFrame(cols)

    def sensitivities(self, level: str, par: bool = False) -> pd.DataFrame:
        """Non-zero sensitivities of every node of ``level`` (tidy, one row per node and
        factor): ``node, factor, value`` (base currency per factor unit) and the factor's
        ``unit`` (and ``kind, name, pillar`` in years for pillar factors; ``par`` gives the
        sensitivities to the par quotes, which have no kind or pillar).

        The order of rows is the file's: nodes in key order, factors in factor order.
        """
        pd = _pandas()
        group = "par_sensitivities" if par else "sensitivities"
        g = self._level(group, level, "par sensitivities" if par else "sensitivities")
        fac = self._f[f"{group}/factors"]
        labels = fac["label"][()]
        order = {lab: i for i, lab in enumerate(labels)}
        factor = g["factor"][()]
        pos = np.fromiter((order[x] for x in factor), dtype=np.int64, count=factor.size)
        cols: dict[str, Any] = {
            "node": _text_column(g["node"][()]),
            "factor": pd.Categorical.from_codes(pos, categories=_decode(labels)),
            "value": g["value"][()],
        }
        for name in ("kind", "name", "pillar", "unit"):
            if name in fac:
                values = fac[name][()][pos]
                cols[name] = _text_column(values) if values.dtype.kind == "S" else values
        return pd.DataFrame(cols)

    def trade_sensitivities(self) -> pd.DataFrame:
        """Each priced trade's non-zero sensitivities (tidy, one row per trade and factor):
        ``trade`` (row of :meth:`trades`), ``trade_id`` (when the file has per-trade
        results), ``factor``, ``kind``, ``name``, ``pillar``, ``unit`` and ``value`` (base
        currency per factor unit), by trade then factor.

        Raises
        ------
        ResultError
            The run did not keep them (``[risk] trade_sensitivities``).
        """
        pd = _pandas()
        g = self._group("trade_sensitivities", "per-trade sensitivities")
        fac = self._f["sensitivities/factors"]
        factor = g["factor"][()]
        cols: dict[str, Any] = {"trade": g["trade"][()]}
        if "trade_id" in self._f["trades"]:
            cols["trade_id"] = _decode(self._f["trades/trade_id"][()][cols["trade"]])
        cols["factor"] = pd.Categorical.from_codes(factor, categories=_decode(fac["label"][()]))
        for name in ("kind", "name", "pillar", "unit"):
            values = fac[name][()][factor]
            cols[name] = _text_column(values) if values.dtype.kind == "S" else values
        cols["value"] = g["value"][()]
        return pd.DataFrame(cols)

    def crif(self) -> pd.DataFrame:
        """The per-trade sensitivities in the layout of a risk-factor input file for initial
        margin models (CRIF): ``TradeID, RiskType, Qualifier, Bucket, Label1, Label2,
        Amount, AmountCurrency, AmountUSD``.

        The amounts are this engine's sensitivities (the bump and unit of each factor kind,
        ``/sensitivities/factors``), not a margin model's own definitions, which differ for
        some kinds (e.g. equity delta per 1% against this engine's per +1%); ``AmountUSD``
        is filled when the base currency is USD, NaN otherwise. Risk types: rate pillars
        ``Risk_IRCurve`` (Label1 the tenor, Label2 the curve: ``OIS`` for a currency's
        discount curve, else the index), FX ``Risk_FX``, equities ``Risk_Equity``, equity and
        FX vols ``Risk_EquityVol`` / ``Risk_FXVol``, credit ``Risk_CreditQ``, commodities
        ``Risk_Commodity`` / ``Risk_CommodityVol``, rate vols ``Risk_IRVol``.
        """
        pd = _pandas()
        t = self.trade_sensitivities()
        labels = t["factor"].astype(str)
        tenor = labels.str.split(":").str[2].fillna("")
        kind = t["kind"].astype(str)
        name = t["name"].astype(str)
        is_ir = kind == "ir"
        qualifier = np.where(is_ir, name.str[:3], name)
        label2 = np.where(is_ir, np.where(name.str.len() == 3, "OIS", name), "")
        amount = t["value"].to_numpy()
        return pd.DataFrame(
            {
                "TradeID": t["trade_id"] if "trade_id" in t else t["trade"].astype(str),
                "RiskType": kind.map(CRIF_RISK_TYPES).fillna("").to_numpy(),
                "Qualifier": qualifier,
                "Bucket": "",
                "Label1": np.where(kind.isin(["fx", "eq"]), "", tenor.str.lower()),
                "Label2": label2,
                "Amount": amount,
                "AmountCurrency": self.base_currency,
                "AmountUSD": amount if self.base_currency == "USD" else np.nan,
            }
        )

    def scenario_pnl(
        self, level: str, kind: Literal["historical", "stress"] = "historical"
    ) -> pd.DataFrame:
        """Scenario P&L (base currency) by node of ``level``: index the nodes, columns the
        scenario end dates (historical) or the stress names (stress)."""
        pd = _pandas()
        g = self._level(f"scenarios/{kind}", level, f"{kind} scenarios")
        parent = self._f[f"scenarios/{kind}"]
        if kind == "historical":
            columns = pd.DatetimeIndex(_dates(parent["dates"][()]), name="date")
        else:
            columns = pd.Index(_decode(parent["names"][()]), name="stress")
        index = pd.Index(_decode(g["key"][()]), name=level)
        return pd.DataFrame(g["pnl"][()], index=index, columns=columns)

    def var_es(self, level: str) -> pd.DataFrame:
        """Historical VaR and ES (losses positive, base currency) by node of ``level``:
        ``var, es, var_date`` and ``es_dates`` (a tuple of the ES tail dates, worst first).
        The confidence levels are in ``DataFrame.attrs``."""
        pd = _pandas()
        g = self._level("scenarios/historical", level, "historical scenarios")
        if "var" not in g:
            raise ResultError(self.path, f"scenarios/historical/{level}", "holds no VaR")
        es_dates = _dates(g["es_dates"][()])
        df = pd.DataFrame(
            {
                "var": g["var"][()],
                "es": g["es"][()],
                "var_date": _dates(g["var_date"][()]),
                "es_dates": [tuple(pd.DatetimeIndex(row)) for row in es_dates],
            },
            index=pd.Index(_decode(g["key"][()]), name=level),
        )
        h = self._f["scenarios/historical"].attrs
        df.attrs.update(
            var_confidence=float(h["var_confidence"]), es_confidence=float(h["es_confidence"])
        )
        return df

    def rank_times(self) -> pd.DataFrame:
        """Per-rank stage times (seconds, ``read_s, compute_s, reduce_s, write_s``) and trade
        and partition counts from ``/diagnostics/ranks``; a merged file has one table per
        part, told apart by the ``part`` column (-1 for an unmerged file)."""
        return self._diagnostics("ranks", ["rank", "trades", "partitions", *STAGES])

    def partition_times(self) -> pd.DataFrame:
        """Start and end of every partition on its rank (``rank, partition, start_s, end_s``,
        seconds from the start of the run) from ``/diagnostics/partitions``, with a ``part``
        column as in :meth:`rank_times`.

        Raises
        ------
        ResultError
            The file holds no per-partition times.
        """
        return self._diagnostics("partitions", ["rank", "partition", "start_s", "end_s"])

    def has_diagnostics(self, table: str) -> bool:
        """Whether ``/diagnostics`` holds ``table`` (``"ranks"``, ``"partitions"``), for the
        run or, in a merged file, for its parts."""
        return bool(self._diagnostic_tables(table))

    def _diagnostics(self, table: str, first: list[str]) -> pd.DataFrame:
        pd = _pandas()
        frames = []
        for part, g in self._diagnostic_tables(table):
            frame = pd.DataFrame({name: g[name][()] for name in _ordered(g, first)})
            frame.insert(0, "part", part)
            frames.append(frame)
        if not frames:
            raise ResultError(self.path, f"diagnostics/{table}", "not in the file")
        return pd.concat(frames, ignore_index=True)

    def _diagnostic_tables(self, table: str) -> list[tuple[int, h5py.Group]]:
        d = self._f.get("diagnostics")
        if d is None:
            return []
        if table in d:
            return [(-1, d[table])]
        # A merged file keeps each part's table as partNNN_<table>.
        suffix = f"_{table}"
        return [
            (int(k[4 : -len(suffix)]), d[k])
            for k in sorted(d)
            if k.startswith("part") and k.endswith(suffix) and k[4 : -len(suffix)].isdigit()
        ]


def open_result(path: str | Path) -> Result:
    """Open a complete result file for reading.

    Raises
    ------
    ResultError
        The file does not exist, is not HDF5, is not a result file or was not completely
        written.
    """
    path = Path(path)
    if not path.exists():
        raise ResultError(path, "", "no such file")
    try:
        f = h5py.File(path, "r")
    except OSError as exc:
        raise ResultError(path, "", f"not an HDF5 file ({exc})") from exc
    missing = [a for a in ("levels", "measures", "base_currency") if a not in f.attrs]
    if missing or "aggregates" not in f:
        f.close()
        raise ResultError(path, "", "not a result file of xiphpc run or xiphpc merge")
    if not f.attrs.get("complete", False):
        f.close()
        raise ResultError(path, "complete", "the file was not completely written")
    return Result(path, f)
