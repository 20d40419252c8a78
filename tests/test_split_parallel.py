"""The split of an unsorted Parquet table by several processes: the same rows, in the same order, as by one."""

import json

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from boundaries import national
from boundaries.errors import InputError
from boundaries.read import read_parquet_files
from helpers import synth_table


@pytest.fixture(scope="module")
def shuffled(tmp_path_factory):
    """A 4-département table shuffled, in row groups of 7,000 rows that each mix every département."""
    import pyarrow.parquet as pq

    a, c = synth_table(tmp_path_factory, 60_000, 4, seed=5)
    table = pq.read_table(a)
    table = table.take(np.random.default_rng(3).permutation(table.num_rows))
    path = tmp_path_factory.mktemp("shuffled") / "shuffled.parquet"
    pq.write_table(table, path, row_group_size=7_000)
    return path, c


@pytest.fixture
def parallel(monkeypatch):
    """Split by several processes however small the table and the machine (forked children see the patches)."""
    monkeypatch.setattr(national, "SPLIT_PARALLEL_MIN_ROWS", 0)
    monkeypatch.setattr(national.os, "cpu_count", lambda: 4)


def test_slices_give_each_departement_the_rows_one_process_gives(shuffled, tmp_path, parallel):
    path, _ = shuffled
    one, one_rows = national.split_table(path, tmp_path / "one", jobs=1)
    two, two_rows = national.split_table(path, tmp_path / "two", jobs=2)
    assert one_rows == two_rows and list(two_rows) == list(one_rows)
    assert all(len(f) == 1 for f in one.values()) and all(len(f) == 2 for f in two.values())
    table = pd.read_parquet(path)
    deps = table["code_commune_ref"].str[:2]
    for dep in one:
        a, b = read_parquet_files(one[dep]), read_parquet_files(two[dep])
        pd.testing.assert_frame_equal(a, b)
        # the table's own order, and the table's own dtypes
        expected = table[deps == dep].reset_index(drop=True)
        pd.testing.assert_frame_equal(b, expected)
    # kept and found again: the same lists of files
    again, _ = national.split_table(path, tmp_path / "two", jobs=2)
    assert again == two
    saved = json.loads((next((tmp_path / "two").glob("input-*")) / "split.json").read_text())
    assert all(isinstance(v, list) for v in saved["files"].values())


def test_natural_command_gives_the_same_bytes_split_by_two(shuffled, tmp_path, parallel):
    from click.testing import CliRunner

    from boundaries.cli import main

    path, c = shuffled
    outs = []
    for jobs in ("1", "2"):
        out = tmp_path / f"j{jobs}.fgb"
        res = CliRunner().invoke(main, ["build", str(path), "--communes", str(c), "-o", str(out), "-j", jobs, "-q"])
        assert res.exit_code == 0, res.output
        outs.append(out.read_bytes())
    assert outs[0] == outs[1]


def test_a_failing_slice_stops_the_split_with_its_error_and_leaves_no_split(shuffled, tmp_path, parallel,
                                                                            monkeypatch):
    path, _ = shuffled
    real = national._write_split

    def fail_second(folder, *args):
        if folder.name == "slice-1":
            raise InputError("slice 1 could not be written")
        return real(folder, *args)

    monkeypatch.setattr(national, "_write_split", fail_second)
    with pytest.raises(InputError, match="slice 1"):
        national.split_table(path, tmp_path / "w", jobs=2)
    assert not [p for p in (tmp_path / "w").glob("input-*") if not p.name.endswith(".partial")]


@settings(deadline=None)
@given(rows=st.lists(st.integers(0, 5_000_000), min_size=0, max_size=40), jobs=st.integers(1, 8))
def test_row_group_slices_are_consecutive_runs_covering_every_group(rows, jobs):
    national_min = national.SPLIT_PARALLEL_MIN_ROWS
    slices = national._row_group_slices(rows, jobs)
    flat = [g for s in slices for g in s]
    assert flat == list(range(len(rows)))  # every row group once, in order
    assert all(s for s in slices) or len(rows) == 0
    assert 1 <= len(slices) <= max(1, min(jobs, len(rows)))
    if jobs <= 1 or len(rows) <= 1 or sum(rows) < national_min:
        assert len(slices) == 1
    elif len(slices) > 1:
        # about equal in rows: no slice holds more than a share plus its largest row group
        share = sum(rows) / len(slices)
        assert max(sum(rows[g] for g in s) for s in slices) <= share + max(rows) + 1
