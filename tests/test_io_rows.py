"""Rows read in slices and written in blocks: a CSV table's slices parse and type as the
whole file does, ISO dates read from bytes as from text, and a part's rows and text records
come back as written."""

from __future__ import annotations

import csv
import io
import random
from pathlib import Path

import h5py
import numpy as np
import pytest

from xiphpc.io.portfolio import CsvSource, _iso_dates, _plain_cells, table_from_strings
from xiphpc.output.parts import RankPart, TradeRows


def _parsed(chunk: str) -> list[list[str]]:
    return [r for r in csv.reader(io.StringIO(chunk, newline=""), strict=True) if r]


def test_plain_cells_equal_the_csv_parser() -> None:
    rng = random.Random(7)
    cut = 0
    for _ in range(3000):
        n_columns, n_rows = rng.randint(1, 4), rng.randint(1, 5)
        rows = [
            ",".join(
                "".join(rng.choice("ab 1.-\t\r") for _ in range(rng.randint(0, 4)))
                for _ in range(n_columns)
            )
            for _ in range(n_rows)
        ]
        chunk = rng.choice(["\n", "\r\n"]).join(rows) + rng.choice(["", "\n", "\r\n"])
        keep = sorted(rng.sample(range(n_columns), rng.randint(1, n_columns)))
        found = _plain_cells(chunk, n_rows, n_columns, keep)
        if found is None:
            continue
        cut += 1
        expected = list(zip(*_parsed(chunk), strict=True))
        assert [c.tolist() for c in found] == [list(expected[j]) for j in keep], repr(chunk)
    assert cut > 300


@pytest.mark.parametrize("quoted", [False, True])
def test_csv_slices_equal_the_whole_table(tmp_path: Path, quoted: bool) -> None:
    rng = np.random.default_rng(3)
    n = 500
    lines = [
        "trade_id,desk,book,counterparty,currency,underlying,quantity,strike,expiry,option_type,vol"
    ]
    for i in range(n):
        desk = f'"D,{i % 3}"' if quoted and i % 7 == 0 else f"D{i % 3}"
        expiry = "" if i % 11 == 0 else f"2027-{1 + i % 12:02d}-{1 + i % 28:02d}"
        lines.append(
            f"T{i},{desk},B{i % 5}, CP{i % 4} ,USD,SPX,{rng.normal():.6f},{100 + i},{expiry},"
            f"{'call' if i % 2 else 'put'},0.2"
        )
    (tmp_path / "equity_option.csv").write_text("\r\n".join(lines) + "\r\n")
    source = CsvSource(tmp_path)
    rows = _parsed((tmp_path / "equity_option.csv").read_text())
    header, body = rows[0], rows[1:]
    whole = table_from_strings(
        "equity_option",
        {h: np.array([r[j] for r in body], dtype=str) for j, h in enumerate(header)},
        str(tmp_path / "equity_option.csv"),
    )
    for a, b in ((0, n), (0, 1), (37, 170), (499, 500), (200, 200)):
        part = source.read("equity_option", a, b)
        want = whole.take(slice(a, b))
        assert part.offset == want.offset == a
        for name, values in want.columns.items():
            assert part.columns[name].tolist() == values.tolist(), name
            assert part.missing[name].tolist() == want.missing[name].tolist(), name


def test_iso_dates_of_bytes_equal_those_of_text() -> None:
    days = np.random.default_rng(2).integers(-300_000, 2_900_000, 5000).astype("datetime64[D]")
    text = days.astype("U10")
    ok = np.char.str_len(text) == 10
    text = text[ok]
    np.testing.assert_array_equal(_iso_dates(text.astype("S")), _iso_dates(text))
    assert _iso_dates(np.array([b"2024-02-30"])) is None


def test_part_rows_and_text_records_come_back(tmp_path: Path) -> None:
    path = tmp_path / "part.h5"
    part = RankPart(path, {"desk": ("S6", ()), "values": (np.float64, (2,))})
    part.write(10, {"desk": np.array(["ab", "cdé"]), "values": np.arange(4.0).reshape(2, 2)})
    part.write(12, {"desk": np.array(["x"]), "values": np.array([[5.0, 6.0]])})
    part.append_records("reasons", {"trade": np.array([3, 11]), "reason": np.array(["", "née"])})
    part.append_records("reasons", {"trade": np.array([12]), "reason": np.array(["why"])})
    part.close()
    got = RankPart.records(path, "reasons")
    assert got["trade"].tolist() == [3, 11, 12]
    assert [r.decode() for r in got["reason"]] == ["", "née", "why"]
    with h5py.File(tmp_path / "out.h5", "w") as f:
        desk = f.create_dataset("desk", (20,), "S6")
        measures = {m: f.create_dataset(m, (20,), "f8") for m in ("pv", "delta")}
        RankPart.copy_into(path, TradeRows({"desk": desk}, measures, None))
        assert [d.decode() for d in desk[10:13]] == ["ab", "cdé", "x"]
        assert measures["pv"][10:13].tolist() == [0.0, 2.0, 5.0]
        assert measures["delta"][10:13].tolist() == [1.0, 3.0, 6.0]
        assert desk[0] == b"" and measures["pv"][13] == 0.0
