"""A corpus of bad inputs: job files, CSV and HDF5 portfolios, markets, histories, output
paths and result files.

Each case is a small builder that breaks one thing in a valid set of inputs made in
``tmp_path``, the command that meets it (``xiphpc validate`` where it suffices, ``xiphpc run``
on one rank where the output path matters, ``xiphpc show`` for result files), the exit
status and a regular expression the error must match, naming the file and the field, line or
row. Every case also checks that nothing is printed as a traceback, that no input file
changed and that nothing was left behind (no temporary file, lock or folder).
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import socket
from collections.abc import Callable
from dataclasses import dataclass
from functools import cache
from pathlib import Path

import h5py
import numpy as np
import pytest
from click.testing import CliRunner

from xiphpc.cli.main import main

HEADER = (
    "trade_id,desk,book,counterparty,currency,quantity,underlying,option_type,strike,expiry,vol"
)
ROWS = (
    "T1,D1,B1,CP1,USD,10,ACME,call,180,2027-06-30,",
    "T2,D1,B1,CP1,USD,-5,ACME,put,150,2027-12-31,0.3",
    "T3,D2,B2,CP2,USD,7,ACME,call,200,2028-06-30,",
)


@cache
def _market_text() -> str:
    from xiphpc.synth.generate import generate_market

    return json.dumps(generate_market(3).to_dict())


@cache
def _history():
    from xiphpc.io.history import generate_history
    from xiphpc.market.data import market_from_dict

    return generate_history(market_from_dict(json.loads(_market_text())), 4, seed=1)


class Inputs:
    """A valid job (CSV portfolio ``book/``, ``market.json``) and spare inputs (``pf.h5``,
    ``history.h5``) in one folder, with helpers to break them."""

    def __init__(self, root: Path):
        from xiphpc.io.history import write_history
        from xiphpc.io.portfolio import CsvSource
        from xiphpc.synth.generate import write_portfolio_hdf5

        self.root = root
        self.job = root / "job.toml"
        self.market = root / "market.json"
        self.book = root / "book"
        self.csv = self.book / "equity_option.csv"
        self.pf = root / "pf.h5"
        self.hist = root / "history.h5"
        self.out = root / "out" / "r.h5"
        #: Placeholders of the expected message, and their values.
        self.places: dict[str, object] = {
            k: getattr(self, k)
            for k in ("root", "job", "market", "book", "csv", "pf", "hist", "out")
        }
        self.market.write_text(_market_text())
        self.book.mkdir()
        self.write_csv(HEADER, *ROWS)
        write_portfolio_hdf5({"equity_option": CsvSource(self.book).read("equity_option")}, self.pf)
        write_history(_history(), self.hist)
        self.write_job()

    def write_job(self, top: str = "", **sections: str | None) -> Path:
        """The job file, its sections replaced by ``sections`` (None drops one)."""
        base = {
            "portfolio": 'path = "book"',
            "market": 'path = "market.json"',
            "run": "partitions = 4",
            "output": f'path = "{self.out}"',
        }
        base.update(sections)
        text = f'name = "bad"\n{top}\n' + "".join(
            f"[{k}]\n{v}\n" for k, v in base.items() if v is not None
        )
        self.job.write_text(text)
        return self.job

    def write_csv(self, *lines: str, name: str = "equity_option.csv") -> Path:
        path = self.book / name
        path.write_text("\n".join(lines) + "\n")
        return path

    def edit_market(self, edit: Callable[[dict], object]) -> None:
        doc = json.loads(self.market.read_text())
        edit(doc)
        self.market.write_text(json.dumps(doc))

    def use_hdf5(self) -> None:
        self.write_job(portfolio='path = "pf.h5"')

    def use_history(self, **options: str) -> None:
        extra = "".join(f", {k} = {v}" for k, v in options.items())
        self.write_job(risk=f'historical = {{ path = "history.h5"{extra} }}')

    def edit_history(self, edit: Callable[[h5py.File], object]) -> None:
        with h5py.File(self.hist, "r+") as f:
            edit(f)

    def history_level(self, label: str, day: int, value: float) -> str:
        """Set one level of the history; returns the date it is on."""
        with h5py.File(self.hist, "r+") as f:
            labels = [x.decode() for x in f["factors"][()]]
            j = labels.index(label)
            levels = f["levels"][()]
            levels[day, j] = value
            f["levels"][...] = levels
            return f["dates"][day].decode()

    def replace_column(self, column: str, data, table: str = "equity_option") -> None:
        with h5py.File(self.pf, "r+") as f:
            g = f["portfolio"][table]
            del g[column]
            if callable(data):
                data(g, column)
            else:
                g[column] = data


@dataclass(frozen=True)
class Case:
    """One bad input: ``build`` breaks the inputs and returns the command line, or None for
    ``[command, job file]``; ``error`` is a regular expression the error output must match,
    its placeholders (``{job}``, ``{csv}``...) replaced by :attr:`Inputs.places`."""

    name: str
    build: Callable[[Inputs], list[str] | None]
    error: str
    exit: int = 2
    command: str = "validate"


def _job_edit(top: str = "", **sections: str | None) -> Callable[[Inputs], None]:
    return lambda inp: inp.write_job(top, **sections) and None


def _nested(depth: int) -> str:
    return "[" * depth + "]" * depth


def _bad_bytes_job(inp: Inputs) -> None:
    inp.job.write_bytes(inp.job.read_bytes().replace(b'"bad"', b'"caf\xe9"'))


def _corrupt(path: Path, signature: bytes, nth: int) -> None:
    """Overwrite the entries after the ``nth`` occurrence of an HDF5 node signature."""
    data = bytearray(path.read_bytes())
    at = [m.start() for m in re.finditer(re.escape(signature), bytes(data))][nth]
    data[at + 8 : at + 48] = b"\xa5" * 40
    path.write_bytes(bytes(data))


def _lock(inp: Inputs, content: str) -> None:
    inp.out.parent.mkdir()
    (inp.out.parent / ".r.h5.lock").write_text(content)


def _dead_pid() -> int:
    """A PID no process has: one above the kernel's limit."""
    return int(Path("/proc/sys/kernel/pid_max").read_text()) + 1


def _h5_edit(inp: Inputs, edit: Callable[[h5py.File], object]) -> None:
    inp.use_hdf5()
    with h5py.File(inp.pf, "r+") as f:
        edit(f)


def _h5_table_dataset(inp: Inputs) -> None:
    def edit(f: h5py.File) -> None:
        del f["portfolio/equity_option"]
        f["portfolio/equity_option"] = np.ones(3)

    _h5_edit(inp, edit)


def _history_dataset(inp: Inputs, name: str, data: np.ndarray) -> None:
    def edit(f: h5py.File) -> None:
        del f[name]
        f[name] = data

    inp.edit_history(edit)


def _level(inp: Inputs, label: str, day: int, value: float) -> None:
    inp.places["date"] = inp.history_level(label, day, value)


CASES = [
    # -- job files --------------------------------------------------------------------------
    Case("job-not-utf8", _bad_bytes_job, r"{job}: line 1: not UTF-8 text: byte 0xe9 at column 12"),
    Case(
        "job-not-toml",
        lambda i: i.job.write_text("name = \n"),
        r"{job}: not valid TOML: Invalid value \(at line 1, column 8\)",
    ),
    Case(
        "job-nested-arrays",
        lambda i: i.job.write_text(f"x = {_nested(5000)}\n"),
        r"{job}: not valid TOML: nested too deeply",
    ),
    Case(
        "job-huge-integer",
        lambda i: i.job.write_text(f"seed = {'9' * 5000}\n"),
        r"{job}: not valid TOML: Exceeds the limit \(4300 digits\)",
    ),
    Case(
        "job-unknown-key",
        _job_edit(run="partitons = 4"),
        r"{job}: run.partitons: unknown key \(misspelt\?\)",
    ),
    Case(
        "job-partitions-string",
        _job_edit(run='partitions = "64"'),
        r"{job}: run.partitions: Input should be a valid integer, got '64'",
    ),
    Case(
        "job-partitions-float",
        _job_edit(run="partitions = 64.0"),
        r"{job}: run.partitions: Input should be a valid integer, got 64.0",
    ),
    Case(
        "job-partitions-zero",
        _job_edit(run="partitions = 0"),
        r"{job}: run.partitions: Input should be greater than 0, got 0",
    ),
    Case(
        "job-threads-bool",
        _job_edit(run="threads_per_rank = true"),
        r"{job}: run.threads_per_rank: Input should be a valid integer, got True",
    ),
    Case(
        "job-output-trades-string",
        _job_edit(output='path = "r.h5"\ntrades = "yes"'),
        r"{job}: output.trades: Input should be a valid boolean, got 'yes'",
    ),
    Case(
        "job-generate-trades-string",
        _job_edit(portfolio='generate = { trades = "yes" }'),
        r"{job}: portfolio.generate.trades: Input should be a valid integer, got 'yes'",
    ),
    Case(
        "job-generate-trades-zero",
        _job_edit(portfolio="generate = { trades = 0 }"),
        r"{job}: portfolio.generate.trades: Input should be greater than 0, got 0",
    ),
    Case(
        "job-portfolio-seed-negative",
        _job_edit(portfolio="generate = { trades = 5, seed = -1 }"),
        r"{job}: portfolio.generate.seed: Input should be greater than or equal to 0, got -1",
    ),
    Case(
        "job-market-seed-negative",
        _job_edit(market="generate = { seed = -1 }"),
        r"{job}: market.generate.seed: Input should be greater than or equal to 0, got -1",
    ),
    Case(
        "job-history-seed-negative",
        _job_edit(risk="historical = { generate = { days = 5, seed = -1 } }"),
        r"{job}: risk.historical.generate.seed: Input should be greater than or equal to 0",
    ),
    Case(
        "job-seed-negative",
        _job_edit("seed = -1"),
        r"{job}: seed: Input should be greater than or equal to 0, got -1",
    ),
    Case(
        "job-bad-fraction",
        _job_edit(portfolio="generate = { trades = 5, bad_fraction = 0.9 }"),
        r"{job}: portfolio.generate.bad_fraction: Input should be less than or equal to 0.5",
    ),
    Case(
        "job-two-sources",
        _job_edit(market='generate = { seed = 1 }\npath = "market.json"'),
        r"{job}: market: give exactly one of 'path' or 'generate'",
    ),
    Case(
        "job-no-portfolio",
        _job_edit(portfolio=None),
        r"{job}: portfolio: Field required",
    ),
    Case(
        "job-unknown-product",
        _job_edit(portfolio='path = "book"\nproducts = ["swaptoin"]'),
        r"{job}: portfolio: unknown products \['swaptoin'\]",
    ),
    Case(
        "job-unknown-level",
        _job_edit(aggregation='levels = ["desk", "region"]'),
        r"{job}: aggregation: unknown levels \['region'\]",
    ),
    Case(
        "job-level-twice",
        _job_edit(aggregation='levels = ["desk", "desk"]'),
        r"{job}: aggregation: a level is listed twice",
    ),
    Case(
        "job-levels-not-list",
        _job_edit(aggregation='levels = "desk"'),
        r"{job}: aggregation.levels: Input should be a valid list, got 'desk'",
    ),
    Case(
        "job-measure-number",
        _job_edit('measures = ["pv", 3]'),
        r"{job}: measures.1: Input should be a valid string, got 3",
    ),
    Case(
        "job-unknown-measure",
        _job_edit('measures = ["pv", "vanna"]'),
        r"{job}: \(top level\): unknown measures \['vanna'\]",
    ),
    Case(
        "job-var-confidence",
        _job_edit(risk='historical = { path = "history.h5", var_confidence = 1.5 }'),
        r"{job}: risk.historical.var_confidence: Input should be less than 1, got 1.5",
    ),
    Case(
        "job-missing-factors-choice",
        _job_edit(risk='historical = { path = "history.h5", missing_factors = "maybe" }'),
        r"{job}: risk.historical.missing_factors: Input should be 'error' or 'hold', got 'maybe'",
    ),
    Case(
        "job-stress-names-twice",
        _job_edit(
            risk='stress = [{ name = "a", shifts = { "ir:*" = 0.01 } }, '
            '{ name = "a", shifts = { "fx:*" = 0.1 } }]'
        ),
        r"{job}: risk: stress scenario names must be unique",
    ),
    Case(
        "job-stress-shift-string",
        _job_edit(risk='stress = [{ name = "a", shifts = { "ir:*" = "big" } }]'),
        r"{job}: risk.stress.0.shifts.ir:\*: Input should be a valid number, got 'big'",
    ),
    Case(
        "job-stress-shift-nan",
        _job_edit(risk='stress = [{ name = "a", shifts = { "ir:*" = nan } }]'),
        r"{job}: risk.stress.0.shifts.ir:\*: Input should be a finite number, got nan",
    ),
    Case(
        "job-bump-inf",
        _job_edit(risk="sensitivities = true\nbumps = { ir = inf }"),
        r"{job}: risk.bumps.ir: Input should be a finite number, got inf",
    ),
    Case(
        "job-empty-name",
        lambda i: i.job.write_text(i.job.read_text().replace('"bad"', '""')),
        r"{job}: name: String should have at least 1 character, got ''",
    ),
    Case(
        "job-reserved-key",
        _job_edit('source = "x"'),
        r"{job}: source: unknown key",
    ),
    Case(
        "job-portfolio-missing",
        _job_edit(portfolio='path = "nowhere.h5"'),
        r"{job}: portfolio.path: {root}/nowhere.h5 does not exist",
    ),
    Case(
        "job-market-missing",
        _job_edit(market='path = "nowhere.json"'),
        r"{job}: market.path: {root}/nowhere.json does not exist",
    ),
    Case(
        "job-history-missing",
        _job_edit(risk='historical = { path = "nowhere.h5" }'),
        r"{job}: risk.historical.path: {root}/nowhere.h5 does not exist",
    ),
    Case(
        "job-valuation-date-mismatch",
        _job_edit("valuation_date = 2026-11-25"),
        r"{job}: valuation_date: 2026-11-25 differs from the market's 2026-11-24",
    ),
    Case(
        "job-valuation-date-invalid",
        _job_edit('valuation_date = "2026-02-30"'),
        r"{job}: valuation_date: Input should be a valid date, got '2026-02-30'",
    ),
    Case(
        "job-valuation-date-number",
        _job_edit("valuation_date = 20261124"),
        r"{job}: valuation_date: Input should be a valid date, got 20261124",
    ),
    Case(
        "job-file-missing",
        lambda i: i.job.unlink(),
        r"{job}: cannot read job file: No such file or directory",
    ),
    # -- output paths -----------------------------------------------------------------------
    Case(
        "out-is-portfolio",
        lambda i: i.write_job(portfolio='path = "pf.h5"', output=f'path = "{i.pf}"') and None,
        r"{pf}: is the job's portfolio {pf}: writing the result would destroy it",
        command="run",
    ),
    Case(
        "out-is-market",
        lambda i: ["run", str(i.job), "--out", str(i.market)],
        r"{market}: is the job's market {market}: writing the result would destroy it",
        command="run",
    ),
    Case(
        "out-is-history",
        lambda i: i.use_history() or ["run", str(i.job), "--out", str(i.hist)],
        r"{hist}: is the job's history {hist}",
        command="run",
    ),
    Case(
        "out-is-job-file",
        lambda i: ["run", str(i.job), "--out", str(i.job)],
        r"{job}: is the job's job file {job}",
        command="run",
    ),
    Case(
        "out-through-symlinked-folder",
        lambda i: (
            (i.root / "link").symlink_to(i.root)
            or ["run", str(i.job), "--out", str(i.root / "link" / "market.json")]
        ),
        r"{root}/link/market.json: is the job's market {market}",
        command="run",
    ),
    Case(
        "out-relative-with-dotdot",
        lambda i: ["run", str(i.job), "--out", os.path.relpath(i.book / ".." / "market.json")],
        r"is the job's market {market}",
        command="run",
    ),
    Case(
        "out-is-csv-table",
        lambda i: ["run", str(i.job), "--out", str(i.csv)],
        r"{csv}: is the job's portfolio {book}",
        command="run",
    ),
    Case(
        "out-new-csv-in-portfolio-folder",
        lambda i: ["run", str(i.job), "--out", str(i.book / "r.csv")],
        r"{book}/r.csv: is the job's portfolio {book}",
        command="run",
    ),
    Case(
        "out-validate-refuses-too",
        lambda i: i.write_job(output=f'path = "{i.market}"') and None,
        r"{market}: is the job's market {market}",
    ),
    Case(
        "out-under-a-file",
        lambda i: ["run", str(i.job), "--out", str(i.market / "r.h5")],
        r"{market}: cannot create this folder: {market} is a file, not a folder",
        command="run",
    ),
    Case(
        "out-is-a-folder",
        lambda i: (
            (i.root / "results").mkdir()
            or i.write_job(output=f'path = "{i.root / "results"}"')
            and None
        ),
        r"{root}/results: is a folder; give a file path for the result",
        command="run",
    ),
    Case(
        "out-locked-by-live-run",
        lambda i: _lock(i, f"pid {os.getppid()} host {socket.gethostname()} started x job y\n"),
        rf"{{out}}: another run is writing it: pid {os.getppid()} on host "
        rf"{re.escape(socket.gethostname())} \(started x\) holds {{root}}/out/.r.h5.lock",
        command="run",
    ),
    Case(
        "out-locked-on-other-host",
        lambda i: _lock(i, f"pid {_dead_pid()} host elsewhere.example started x job y\n"),
        r"{out}: another run is writing it: pid \d+ on host elsewhere.example",
        command="run",
    ),
    Case(
        "out-lock-without-owner",
        lambda i: _lock(i, ""),
        r"{out}: another run is writing it: a run that named no owner holds",
        command="run",
    ),
    # -- CSV portfolios ---------------------------------------------------------------------
    Case(
        "csv-not-utf8",
        lambda i: i.csv.write_bytes(i.csv.read_bytes().replace(b"D2", b"D\xe9")),
        r"{csv}: line 4: not UTF-8 text: byte 0xe9 at column 5",
    ),
    Case(
        "csv-field-too-long",
        lambda i: i.write_csv(
            HEADER, ROWS[0], "T9,D1,B1,CP1,USD,1,ACME,call,1,2027-06-30," + "x" * 140_000
        ),
        r"{csv}: line 3: not valid CSV: field larger than field limit \(131072\)",
    ),
    Case(
        "csv-unterminated-quote",
        lambda i: i.write_csv(HEADER, ROWS[0], 'T9,"D1,B1'),
        r"{csv}: line 3: not valid CSV: unexpected end of data",
    ),
    Case(
        "csv-text-after-quote",
        lambda i: i.write_csv(HEADER, '"T1"x,D1,B1,CP1,USD,10,ACME,call,180,2027-06-30,'),
        r"{csv}: line 2: not valid CSV: ',' expected after '\"'",
    ),
    Case(
        "csv-ragged-row",
        lambda i: i.write_csv(HEADER, ROWS[0], "T2,D1,B1,CP1,USD,10,ACME,call,180,2027-06-30"),
        r"{csv}: line 3: has 10 cells, the header 11",
    ),
    Case(
        "csv-unknown-column",
        lambda i: i.write_csv(HEADER + ",colour", ROWS[0] + ",red"),
        r"{csv}: colour: unknown column",
    ),
    Case(
        "csv-required-column-absent",
        lambda i: i.write_csv(HEADER.replace(",strike", ""), ROWS[0].replace(",180", "")),
        r"{csv}: strike: required column is absent",
    ),
    Case(
        "csv-column-twice",
        lambda i: i.write_csv(HEADER + ",desk", ROWS[0] + ",D9"),
        r"{csv}: desk: column appears more than once",
    ),
    Case("csv-empty-file", lambda i: i.csv.write_text(""), r"{csv}: is empty \(no header row\)"),
    Case(
        "csv-header-only",
        lambda i: i.write_csv(HEADER),
        r"{book}: the portfolio holds no trade",
    ),
    Case(
        "csv-unknown-product",
        lambda i: i.write_csv("trade_id", "T1", name="swaptoin.csv"),
        r"{book}/swaptoin.csv: unknown product 'swaptoin'",
    ),
    Case(
        "csv-no-table",
        lambda i: i.csv.rename(i.book / "equity_option.txt"),
        r"{book}: holds no .csv file",
    ),
    Case(
        "csv-table-is-a-folder",
        lambda i: (i.csv.unlink(), i.csv.mkdir()) and None,
        r"{csv}: cannot read: Is a directory",
    ),
    Case(
        "csv-inf-strike",
        lambda i: i.write_csv(HEADER, ROWS[0], ROWS[1].replace(",150,", ",inf,")),
        r"{csv}: row 2: not_a_number: strike: inf is not finite \(trade T2\)",
    ),
    Case(
        "csv-minus-inf-quantity",
        lambda i: i.write_csv(HEADER, ROWS[0].replace(",10,", ",-inf,")),
        r"{csv}: row 1: not_a_number: quantity: -inf is not finite \(trade T1\)",
    ),
    Case(
        "csv-overflowing-vol",
        lambda i: i.write_csv(HEADER, ROWS[0], ROWS[1], ROWS[2] + "1e400"),
        r"{csv}: row 3: not_a_number: vol: inf is not finite \(trade T3\)",
    ),
    Case(
        "csv-nan-strike",
        lambda i: i.write_csv(HEADER, ROWS[0].replace(",180,", ",nan,")),
        r"{csv}: row 1: not_a_number: strike: not a number \(trade T1\)",
    ),
    Case(
        "csv-impossible-date",
        lambda i: i.write_csv(HEADER, *ROWS[:2], ROWS[2].replace("2028-06-30", "2028-02-30")),
        r"{csv}: row 3: bad_value: expiry: not a date \(YYYY-MM-DD\) \(trade T3\)",
    ),
    Case(
        "csv-duplicate-id",
        lambda i: i.write_csv(HEADER, *ROWS, ROWS[0]),
        r"{csv}: row 4: duplicate_id: trade_id: duplicate of an earlier trade \(trade T1\)",
    ),
    Case(
        "csv-rows-skip-blank-lines",
        lambda i: i.write_csv(HEADER, ROWS[0], "", ROWS[1].replace(",-5,", ",0,")),
        r"{csv}: row 2: bad_value: quantity: zero \(trade T2\)",
    ),
    Case(
        "csv-byte-order-mark-is-fine",
        lambda i: i.csv.write_bytes(b"\xef\xbb\xbf" + i.csv.read_bytes()),
        r"^$",
        exit=0,
    ),
    # -- HDF5 portfolios --------------------------------------------------------------------
    Case(
        "h5-column-2d",
        lambda i: i.use_hdf5() or i.replace_column("strike", np.ones((3, 2))),
        r"{pf}:/portfolio/equity_option: strike: has shape \(3, 2\); expected one value per "
        r"trade \(a 1-D dataset\)",
    ),
    Case(
        "h5-column-compound",
        lambda i: (
            i.use_hdf5()
            or i.replace_column("strike", np.zeros(3, dtype=[("a", "f8"), ("b", "i4")]))
        ),
        r"{pf}:/portfolio/equity_option: strike: has a compound type .*; expected numbers or "
        r"strings",
    ),
    Case(
        "h5-column-scalar",
        lambda i: i.use_hdf5() or i.replace_column("strike", np.float64(1.0)),
        r"{pf}:/portfolio/equity_option: strike: has shape \(\); expected one value per trade",
    ),
    Case(
        "h5-column-sequences",
        lambda i: (
            i.use_hdf5()
            or i.replace_column(
                "strike",
                lambda g, c: g.create_dataset(c, (3,), dtype=h5py.vlen_dtype(np.float64)),
            )
        ),
        r"{pf}:/portfolio/equity_option: strike: holds variable-length sequences",
    ),
    Case(
        "h5-column-is-group",
        lambda i: i.use_hdf5() or i.replace_column("strike", lambda g, c: g.create_group(c)),
        r"{pf}:/portfolio/equity_option: strike: is a group; expected a dataset",
    ),
    Case(
        "h5-ragged-columns",
        lambda i: i.use_hdf5() or i.replace_column("strike", np.array([1.0, 2.0])),
        r"{pf}:/portfolio/equity_option: strike: has 2 rows, trade_id has 3: columns differ "
        r"in length",
    ),
    Case(
        "h5-required-column-absent",
        lambda i: i.use_hdf5() or i.replace_column("expiry", lambda g, c: None),
        r"{pf}:/portfolio/equity_option: expiry: required column is absent",
    ),
    Case(
        "h5-table-is-dataset",
        _h5_table_dataset,
        r"{pf}:/portfolio/equity_option: is a dataset; expected a group of columns",
    ),
    Case(
        "h5-unknown-product",
        lambda i: _h5_edit(i, lambda f: f["portfolio"].create_group("swaptoin")),
        r"{pf}:/portfolio/swaptoin: swaptoin: unknown product",
    ),
    Case(
        "h5-no-portfolio-group",
        lambda i: _h5_edit(i, lambda f: f.move("portfolio", "trades")),
        r"{pf}: /portfolio: group is absent",
    ),
    Case(
        "h5-corrupt",
        lambda i: i.use_hdf5() or _corrupt(i.pf, b"SNOD", 1),
        r"{pf}: cannot read as HDF5 \(damaged, or not HDF5\): Unable to get group info",
    ),
    Case(
        "h5-not-hdf5",
        lambda i: i.use_hdf5() or i.pf.write_text("trade_id\nT1\n"),
        r"{pf}: cannot read as HDF5 \(damaged, or not HDF5\): .*file signature not found",
    ),
    Case(
        "h5-empty-file",
        lambda i: i.use_hdf5() or i.pf.write_bytes(b""),
        r"{pf}: cannot read as HDF5 \(damaged, or not HDF5\)",
    ),
    Case(
        "h5-string-not-utf8",
        lambda i: i.use_hdf5() or i.replace_column("desk", np.array([b"D1", b"D\xe9", b"D3"])),
        r"{pf}:/portfolio/equity_option: desk: row 2: not UTF-8 text: b'D\\xe9'",
    ),
    Case(
        "h5-inf-strike",
        lambda i: i.use_hdf5() or i.replace_column("strike", np.array([180.0, np.inf, 200.0])),
        r"{pf}:/portfolio/equity_option: row 2: not_a_number: strike: inf is not finite "
        r"\(trade T2\)",
    ),
    # -- market data ------------------------------------------------------------------------
    Case(
        "market-nested-arrays",
        lambda i: i.market.write_text(_nested(5000)),
        r"{market}: not valid JSON: nested too deeply",
    ),
    Case(
        "market-not-utf8",
        lambda i: i.market.write_bytes(b'{"base_currency": "US\xc4"}'),
        r"{market}: line 1: not UTF-8 text: byte 0xc4 at column 22",
    ),
    Case(
        "market-not-json",
        lambda i: i.market.write_text("{'fx': 1}"),
        r"{market}: not valid JSON: Expecting property name enclosed in double quotes: "
        r"line 1 column 2",
    ),
    Case(
        "market-empty",
        lambda i: i.market.write_text(""),
        r"{market}: not valid JSON: Expecting value: line 1 column 1 \(char 0\)",
    ),
    Case(
        "market-huge-integer",
        lambda i: i.market.write_text("9" * 5000),
        r"{market}: not valid JSON: Exceeds the limit \(4300 digits\)",
    ),
    Case(
        "market-top-level-list",
        lambda i: i.market.write_text("[]"),
        r"{market}: expected a JSON object at the top level",
    ),
    Case(
        "market-fx-string",
        lambda i: i.edit_market(lambda d: d["fx"].update(EUR="abc")),
        r"{market}: fx.EUR: expected a number, got 'abc'",
    ),
    Case(
        "market-fx-overflow",
        lambda i: i.market.write_text(
            i.market.read_text().replace('"EUR": ', '"EUR": 1e999, "x": ', 1)
        ),
        r"{market}: fx.EUR: must be finite, got inf",
    ),
    Case(
        "market-fx-deeply-nested",
        lambda i: i.edit_market(lambda d: d["fx"].update(EUR=json.loads(_nested(500)))),
        r"{market}: fx.EUR: expected a number, got \[\[\[\[...\]\]\]\]",
    ),
    Case(
        "market-tenors-decreasing",
        lambda i: i.edit_market(
            lambda d: d["curves"].update(JPY={"tenors": [2, 1], "zero_rates": [0.0, 0.0]})
        ),
        r"{market}: curves.JPY.tenors: must be strictly increasing",
    ),
    Case(
        "market-base-rate",
        lambda i: i.edit_market(lambda d: d["fx"].update(USD=1.1)),
        r"{market}: fx.USD: the base currency's rate must be 1.0, got 1.1",
    ),
    Case(
        "market-impossible-date",
        lambda i: i.edit_market(lambda d: d.update(valuation_date="2026-02-30")),
        r"{market}: valuation_date: expected YYYY-MM-DD, got '2026-02-30'",
    ),
    Case(
        "market-equity-currency",
        lambda i: i.edit_market(lambda d: d["equities"]["ACME"].update(currency="XYZ")),
        r"{market}: equities.ACME.currency: 'XYZ' has no FX rate in this market",
    ),
    Case(
        "market-is-a-folder",
        lambda i: (i.market.unlink(), i.market.mkdir()) and None,
        r"{market}: cannot read: Is a directory",
    ),
    # -- histories --------------------------------------------------------------------------
    Case(
        "history-impossible-date",
        lambda i: (
            i.use_history() or i.edit_history(lambda f: f["dates"].__setitem__(1, b"2026-02-30"))
        ),
        r"{hist}: dates\[1\]: '2026-02-30' is not a date \(YYYY-MM-DD\)",
    ),
    Case(
        "history-year-only-date",
        lambda i: i.use_history() or i.edit_history(lambda f: f["dates"].__setitem__(0, b"2026")),
        r"{hist}: dates\[0\]: '2026' is not a date \(YYYY-MM-DD\)",
    ),
    Case(
        "history-dates-not-increasing",
        lambda i: (
            i.use_history() or i.edit_history(lambda f: f["dates"].__setitem__(2, f["dates"][0]))
        ),
        r"{hist}: dates\[2\]: \S+ does not follow \S+: dates must be strictly increasing",
    ),
    Case(
        "history-zero-spot",
        lambda i: i.use_history() or _level(i, "eq:ACME", 1, 0.0),
        r"{hist}: levels: eq:ACME on {date}: 0.0 must be > 0: the factor moves by ratios",
    ),
    Case(
        "history-negative-fx",
        lambda i: i.use_history() or _level(i, "fx:EUR", 2, -1.1),
        r"{hist}: levels: fx:EUR on {date}: -1.1 must be > 0",
    ),
    Case(
        "history-nan-rate",
        lambda i: i.use_history() or _level(i, "ir:USD:1Y", 0, np.nan),
        r"{hist}: levels: ir:USD:1Y on {date}: nan is not finite",
    ),
    Case(
        "history-inf-vol",
        lambda i: i.use_history() or _level(i, "eqvol:ACME:1Y", 3, np.inf),
        r"{hist}: levels: eqvol:ACME:1Y on {date}: inf is not finite",
    ),
    Case(
        "history-levels-shape",
        lambda i: i.use_history() or _history_dataset(i, "levels", np.ones((4, 3))),
        r"{hist}: levels: shape \(4, 3\) is not \(dates, factors\) = \(4, \d+\)",
    ),
    Case(
        "history-levels-absent",
        lambda i: i.use_history() or i.edit_history(lambda f: f.__delitem__("levels")),
        r"{hist}: levels: dataset is absent",
    ),
    Case(
        "history-dates-numbers",
        lambda i: i.use_history() or _history_dataset(i, "dates", np.arange(4)),
        r"{hist}: dates: has shape \(4,\) and type int64; expected 1-D strings",
    ),
    Case(
        "history-one-date",
        lambda i: (
            i.use_history()
            or _history_dataset(i, "dates", np.array([b"2026-11-24"]))
            or _history_dataset(i, "levels", np.ones((1, len(_history().labels))))
        ),
        r"{hist}: dates: needs at least two dates",
    ),
    Case(
        "history-factor-twice",
        lambda i: (
            i.use_history()
            or i.edit_history(lambda f: f["factors"].__setitem__(1, f["factors"][0]))
        ),
        r"{hist}: factors: listed more than once: \['ir:",
    ),
    Case(
        "history-corrupt",
        lambda i: i.use_history() or _corrupt(i.hist, b"SNOD", 0),
        r"{hist}: (dates: dataset is absent|cannot read as HDF5)",
    ),
    Case(
        "history-not-hdf5",
        lambda i: i.use_history() or i.hist.write_text("dates,levels\n"),
        r"{hist}: cannot read as HDF5 \(damaged, or not HDF5\)",
    ),
    Case(
        "history-missing-factor",
        lambda i: (
            i.use_history() or i.edit_history(lambda f: f["factors"].__setitem__(0, b"ir:XXX:1Y"))
        ),
        r"{hist}: factors: 1 risk factors of the market have no history, e.g. \['ir:",
    ),
    # -- result files -----------------------------------------------------------------------
    Case(
        "show-not-hdf5",
        lambda i: ["show", str(i.market)],
        r"{market}: cannot open as HDF5",
        command="show",
    ),
    Case(
        "show-a-portfolio",
        lambda i: ["show", str(i.pf)],
        r"{pf}: complete: the file was not completely written",
        command="show",
    ),
    Case(
        "show-complete-but-empty",
        lambda i: (
            _h5_edit(i, lambda f: f.attrs.__setitem__("complete", True)) or ["show", str(i.pf)]
        ),
        r"{pf}: not a readable result file \(KeyError: ",
        command="show",
    ),
]


def _snapshot(root: Path) -> dict[str, tuple[str, int]]:
    """Every file and folder under ``root``: content hash (files) and modification time."""
    found = {}
    for dirpath, dirnames, filenames in os.walk(root):
        for name in dirnames + filenames:
            p = Path(dirpath) / name
            if p.is_symlink() or p.is_dir():
                found[str(p)] = ("", 0)
            else:
                found[str(p)] = (hashlib.sha256(p.read_bytes()).hexdigest(), p.stat().st_mtime_ns)
    return found


@pytest.mark.parametrize("case", CASES, ids=[c.name for c in CASES])
def test_bad_input(case: Case, tmp_path: Path) -> None:
    inp = Inputs(tmp_path)
    args = case.build(inp)
    if not isinstance(args, list):
        args = [case.command, str(inp.job)]
    assert args[0] == case.command
    before = _snapshot(tmp_path)
    res = CliRunner().invoke(main, args, catch_exceptions=False)
    pattern = re.sub(r"\{(\w+)\}", lambda m: re.escape(str(inp.places[m.group(1)])), case.error)
    assert res.exit_code == case.exit, res.output
    assert "Traceback" not in res.output
    errors = res.stderr
    assert re.search(pattern, errors, flags=re.MULTILINE), f"{pattern!r} not in:\n{errors}"
    # Nothing read was written, nothing was left behind.
    assert _snapshot(tmp_path) == before
