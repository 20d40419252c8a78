"""Results as the Ministry of the Interior publishes them: candidate blocks side by side, or one row per candidate.

Both layouts are generated at test time FROM the wide Paris 2022 file (``../shared/data``; skipped where
absent, never copied here) and must join exactly as the wide file does, vote counts as integers.
"""

from __future__ import annotations

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
import shapely
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from boundaries.errors import InputError
from boundaries.results import join_results, read_results, with_station_ids
from conftest import shared_path

#: The station columns of the Paris file (everything before the first candidate).
N_STATION_COLUMNS = 13
BLOCK = ["N°Panneau", "Sexe", "Nom", "Prénom", "Voix", "% Voix/Ins", "% Voix/Exp"]


@pytest.fixture(scope="module")
def wide():
    path = shared_path("paris-2022", "presidentielle-2022-t1.csv")
    return pd.read_csv(path, dtype=str, keep_default_na=False)


def block(panel: int, name: str, votes: str, sep: str = ";") -> list[str]:
    """One candidate's fields; the shares with a decimal comma, as published (a point in a ``,`` file)."""
    point = "." if sep == "," else ","
    return [str(panel), "M", name, "", votes, f"1{point}00", f"2{point}00"]


def blocks_text(wide, panels: dict, sep: str = ";", header_rest: str = "none", trailing: bool = False) -> str:
    """The wide file with repeated candidate blocks; ``panels``: candidate column → panel number.

    ``header_rest``: what the header holds after the first block (``none``, ``empty`` fields,
    ``dup``licate names), as the Ministry's files come.
    """
    stations, cands = list(wide.columns[:N_STATION_COLUMNS]), sorted(panels, key=panels.get)
    header = stations + BLOCK
    if header_rest == "empty":
        header += [""] * len(BLOCK) * (len(cands) - 1)
    elif header_rest == "dup":
        header += BLOCK * (len(cands) - 1)
    lines = [sep.join(header)]
    for _, row in wide.iterrows():
        fields = [row[c] for c in stations]
        for c in cands:
            fields += block(panels[c], c, row[c], sep)
        lines.append(sep.join(fields) + (sep if trailing else ""))
    return "\n".join(lines) + "\n"


def long_text(wide, panels: dict, sep: str = ";", seed: int = 0) -> str:
    """One row per (station, candidate), the station's columns repeated, rows shuffled."""
    stations = list(wide.columns[:N_STATION_COLUMNS])
    rows = [[row[c] for c in stations] + block(panels[c], c, row[c], sep) for _, row in wide.iterrows() for c in panels]
    rows = [rows[i] for i in np.random.default_rng(seed).permutation(len(rows))]
    return "\n".join([sep.join(stations + BLOCK)] + [sep.join(r) for r in rows]) + "\n"


def joined(table_or_path, ids):
    boxes = [shapely.box(i, 0, i + 1, 1) for i in range(len(ids))]
    layer = gpd.GeoDataFrame({"id_bv": ids}, geometry=boxes, crs="EPSG:2154")
    return join_results(layer, table_or_path)[0]


def station_ids(wide) -> list[str]:
    table, field = with_station_ids(wide.copy())
    return list(table[field])


def assert_same_join(path, wide, cands):
    ids = station_ids(wide)
    expected, got = joined(wide, ids), joined(path, ids)
    for c in ["Inscrits", "Votants", "Exprimés", *cands]:
        assert str(got[c].dtype) == "Int64", (c, got[c].dtype)
        assert got[c].tolist() == expected[c].tolist(), c
    assert [c for c in got.columns if c in cands] == cands  # by panel number


def test_blocks_side_by_side_join_as_the_wide_file(wide, tmp_path):
    cands = list(wide.columns[N_STATION_COLUMNS:])
    path = tmp_path / "blocks.csv"
    path.write_bytes(blocks_text(wide, {c: i + 1 for i, c in enumerate(cands)}).encode("latin-1"))
    assert_same_join(path, wide, cands)


def test_one_row_per_candidate_joins_as_the_wide_file(wide, tmp_path):
    cands = list(wide.columns[N_STATION_COLUMNS:])
    path = tmp_path / "long.csv"
    path.write_text(long_text(wide, {c: i + 1 for i, c in enumerate(cands)}), encoding="utf-8")
    assert_same_join(path, wide, cands)
    parquet = tmp_path / "long.parquet"
    pd.read_csv(path, sep=";", dtype=str).to_parquet(parquet)
    assert_same_join(parquet, wide, cands)


@settings(deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(data=st.data(), layout=st.sampled_from(["blocks", "long"]), sep=st.sampled_from([";", ",", "\t"]),
       encoding=st.sampled_from(["utf-8", "utf-8-sig", "latin-1", "cp1252"]),
       header_rest=st.sampled_from(["none", "empty", "dup"]), trailing=st.booleans())
def test_any_candidates_order_and_encoding(wide, tmp_path, data, layout, sep, encoding, header_rest, trailing):
    """Any subset of candidates, numbered in any order, any separator and encoding, both layouts."""
    all_cands = list(wide.columns[N_STATION_COLUMNS:])
    cands = data.draw(st.lists(st.sampled_from(all_cands), min_size=1, max_size=len(all_cands), unique=True))
    order = data.draw(st.permutations(range(1, len(cands) + 1)))
    panels = dict(zip(cands, order))
    rows = wide.iloc[data.draw(st.integers(0, 880)):][:data.draw(st.integers(1, 18))]
    text = blocks_text(rows, panels, sep, header_rest, trailing) if layout == "blocks" else \
        long_text(rows, panels, sep, data.draw(st.integers(0, 99)))
    path = tmp_path / f"r-{layout}-{encoding}.csv"
    path.write_bytes(text.encode(encoding))
    assert_same_join(path, rows, sorted(cands, key=panels.get))


def test_station_rows_that_disagree_are_refused(wide, tmp_path):
    rows = wide.iloc[:3]
    text = long_text(rows, {"MACRON": 3, "LE PEN": 5}, seed=1).splitlines()
    fields = text[2].split(";")
    fields[7] = str(int(fields[7]) + 1)  # Inscrits
    path = tmp_path / "bad.csv"
    path.write_text("\n".join(text[:2] + [";".join(fields)] + text[3:]) + "\n")
    with pytest.raises(InputError, match=r"has Inscrits '\d+' on line \d+ and '\d+' on line \d+"):
        read_results(path)


def test_a_row_cut_inside_a_block_is_refused(wide, tmp_path):
    text = blocks_text(wide.iloc[:4], {"MACRON": 1, "LE PEN": 2}).splitlines()
    text[3] = text[3].rsplit(";", 2)[0]
    path = tmp_path / "cut.csv"
    path.write_text("\n".join(text) + "\n")
    with pytest.raises(InputError, match="line 4 has .* whole candidate blocks of 7"):
        read_results(path)


def test_a_candidate_twice_in_one_station_is_refused(tmp_path):
    """Two blocks of one name for one station (a file concatenated twice): refused, not summed or dropped."""
    header = "code_bv;Inscrits;N°Panneau;Nom;Prénom;Voix"
    path = tmp_path / "twice.csv"
    path.write_text(f"{header}\n75056_0101;10;1;DUPONT;Jean;3;1;DUPONT;Jean;4\n")
    with pytest.raises(InputError, match="'DUPONT Jean' appears twice"):
        read_results(path)


def test_a_plain_table_is_unchanged(tmp_path):
    """A table without a panel column is read as before (no candidate block)."""
    path = tmp_path / "plain.csv"
    path.write_text("code_bv;Nom;Voix\n75056_0101;x;3\n")
    assert list(read_results(path).columns) == ["code_bv", "Nom", "Voix"]
