"""Station profiles: counts published for other areas (census IRIS, grid cells) carried onto stations.

A source area carries onto the stations the share of its count that its covered part
holds, never more: covered = area(source ∩ union of the stations) / area(source), and
the amount carried, count × covered, is shared among the stations that overlap it in
proportion to the voters' addresses each holds inside it (dasymetric weighting, the
address weights ``nb_adresses``); where its part inside the stations holds no address,
by area. An area mostly across the stations' edge thus gives them its small covered
share, however many addresses of theirs lie in it. The pieces (source × station) and
the aggregation are MGGG's maup (``maup.intersections``, ``maup.prorate``); this module
only chooses the weights.

Which columns are carried, and how:

- extensive (counts): ``extensive`` when given, else every numeric column of the
  data but the key, the intensive ones, INSEE's geography codes
  (:data:`GEOGRAPHY_COLUMNS`, and any column holding a code with a leading zero) and
  positions, flags and ids (:data:`NOT_COUNTS`: a grid cell's ``x``/``y``, Filosofi's
  ``imputed``); without a data table, the source layer's text fields are codes and
  names, never counts, even when they hold digits (Filosofi's ``commune_centroid``);
  shared by the weights, so their sum over the stations is the sum over the source
  areas of count × covered (the totals of :class:`Profile`);
- intensive (rates, means, medians): ``intensive`` as ``COLUMN:WEIGHT_COLUMN``,
  averaged over the pieces with the weight column's carried count.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from .errors import InputError, option, render_options
from .read import check_crs

#: How a source area's count is shared among the stations overlapping it.
WEIGHTS = ("addresses", "area")
#: INSEE's geography and label columns of its tables by IRIS or commune: codes, never counts.
GEOGRAPHY_COLUMNS = frozenset({
    "IRIS", "DCOMIRIS", "CODE_IRIS", "REG", "DEP", "UU2010", "UU2020", "AU2010", "AAV2020", "COM", "CODGEO",
    "DEPCOM", "CODE_COM", "ARM", "TRIRIS", "GRD_QUART", "MODIF_IRIS", "LAB_IRIS", "TYP_IRIS", "LIBCOM", "LIBIRIS",
    "EPCI", "CODE_EPT", "BV2012", "ZE2010",
})

#: Columns that are positions, flags or ids, never counts (compared in capitals): a grid cell's
#: coordinates, Filosofi's imputation flags, a layer's feature id.
NOT_COUNTS = frozenset({"X", "Y", "LON", "LAT", "LONGITUDE", "LATITUDE", "IMPUTED", "I_EST_200", "I_EST_1KM",
                        "I_EST_CR", "GROUPE", "FID", "OBJECTID"})


@dataclass
class Profile:
    """What :func:`profile` returns.

    Attributes
    ----------
    table : pandas.DataFrame
        One row per station, in the layer's order: ``id_bv``, ``code_bv`` (where the
        layer has it), ``area_fallback_share`` (the share of the station's carried
        counts, all extensive columns together, that came by area weights: 0 with
        address weights everywhere, 1 with ``weights="area"``), then the columns.
    stations : geopandas.GeoDataFrame
        The station layer as read (every field kept) with the table's columns added.
    extensive, intensive : list of str
        The columns carried as counts, and averaged (with their weight column).
    fallback_share : float
        Share of all the counts carried that came by area weights.
    sources_without_address : int
        Source areas overlapping the stations that hold no address inside them (carried by area).
    totals : dict
        Per extensive column: ``{"stations": the sum carried onto the stations,
        "sources_covered": the sum over the source areas of count × covered share (what the
        stations must hold), "sources": the whole count of the source areas overlapping them}``.
    source_key : str or None
        The source layer's field whose codes were matched with the data's key (None without data).
    warnings : list of str
        What the run chose that a user should know (the source field matched when another is
        named like the key), one line each.
    notices : list of str
        The same lines, their options marked (:func:`boundaries.errors.option`) for
        :meth:`summary` to name them as the caller does (the command: its flags).
    """

    table: pd.DataFrame
    stations: object
    extensive: list
    intensive: list
    fallback_share: float
    sources_without_address: int
    totals: dict = field(default_factory=dict)
    source_key: str | None = None
    warnings: list = field(default_factory=list)
    notices: list = field(default_factory=list, repr=False)

    def summary(self, name=None) -> dict:
        """The run's counts, as the command prints them (``--json``).

        ``name(keyword, value)`` writes the options the warnings name (the command gives its
        flags); default: the Python keywords.
        """
        warnings = [render_options(n, name) if name else render_options(n) for n in self.notices]
        return {"stations": len(self.table), "extensive": self.extensive, "intensive": self.intensive,
                "fallback_share": self.fallback_share, "sources_without_address": self.sources_without_address,
                "source_key": self.source_key, "totals": self.totals, "warnings": warnings}


def profile(stations, source, data=None, key=None, addresses=None, *, columns=None, extensive=None,
            intensive=None, weights: str = "addresses", source_key: str | None = None, layer: str | None = None,
            source_layer: str | None = None, addresses_layer: str | None = None, crs: str | None = None) -> Profile:
    """Carry the counts of SOURCE's areas (or of a DATA table keyed by them) onto the stations.

    Parameters
    ----------
    stations : str, pathlib.Path or geopandas.GeoDataFrame
        The station layer (ours or any tool's), with its ids (``id_bv``…).
    source : str, pathlib.Path or geopandas.GeoDataFrame
        The polygons the counts are published for (INSEE IRIS, grid cells…).
    data : str or pathlib.Path, optional
        A CSV table of counts (``,`` or ``;``, e.g. INSEE's base-ic), one row per source
        area, keyed by key; without it, the source layer's own numeric fields are carried.
    key : str, optional
        The data's column of the source areas' codes (read as text: leading zeros kept);
        needed with data.
    addresses : str, pathlib.Path, pandas.DataFrame or boundaries.read.AddressTable, optional
        The voters' addresses (the REU table, or any point table with a station column;
        other column names: ``read_addresses(path, AddressColumns(...))``):
        their nb_adresses weights share each source area's covered part (the share of its
        area inside the stations, all it carries) among the stations.
    columns : list of str, optional
        The columns to carry (default: every numeric column of the data but the key and
        INSEE's geography codes such as REG, DEP, COM, UU2010).
    extensive : list of str, optional
        The columns that are counts, summed (default: every carried column not declared
        intensive). With it, a carried column that is in neither list is refused.
    intensive : list of str, optional
        Rates, means and medians as COLUMN:WEIGHT_COLUMN (a rate of unemployment with the
        active population), averaged with the weight column's carried counts.
    weights : {"addresses", "area"}, default "addresses"
        How a source area's covered part is shared among the stations: by the addresses
        each holds in it (by area where it holds none), or by area alone.
    source_key : str, optional
        The source layer's field matching key (default: the field whose codes match the
        most data keys, the one named like key among equals; a warning says so when it is
        another than the one named like key).
    layer, source_layer, addresses_layer : str, optional
        The layer to read from a file of several (stations, source, addresses).
    crs : str, optional
        CRS of the addresses' coordinates (default: the layer's, else EPSG:4326).

    Returns
    -------
    Profile

    Raises
    ------
    InputError
        No CRS, no overlap, a key or column not found, a column of unknown kind, a missing row.
    """
    if weights not in WEIGHTS:
        raise InputError(f"{option('weights', weights)}: unknown weighting; choose one of {', '.join(WEIGHTS)}")
    check_crs(crs)  # before the layers are read
    if weights == "addresses" and addresses is None:
        weights = "area"  # nothing to weight by: said in the fallback share (1 everywhere)
    raw, ids = _read_stations(stations, layer)
    src = _read_polygons(source, source_layer, "source")
    values, codes, matched, note = _source_values(src, data, key, source_key)
    kinds = _column_kinds(values, columns, extensive, intensive, key)
    work = _work_crs(ids)
    targets = ids.geometry.to_crs(work).reset_index(drop=True)
    sources = src.geometry.to_crs(work).reset_index(drop=True).make_valid()  # a bow-tie's area is not 0
    pieces = _pieces(sources, targets, src, raw)
    _refuse_missing_rows(values, codes, pieces, kinds)
    w, fallback, covered = _weights(pieces, sources, (addresses, addresses_layer, crs), weights, work, targets)
    out, share, totals, overall = _carry(pieces, kinds, w, fallback, covered, len(ids))
    result = _assemble(raw, ids, out, share, kinds, totals, overall, fallback, pieces)
    result.source_key, result.notices = matched, [note] if note else []
    result.warnings = [render_options(n) for n in result.notices]
    return result


def _read_stations(stations, layer):
    """(the layer as read, every field; its ids and geometry from :func:`boundaries.read.read_stations`)."""
    import geopandas as gpd

    from .read import read_stations

    if isinstance(stations, gpd.GeoDataFrame):
        raw, where = stations, "station layer"
    else:
        raw, where = _read_polygons(stations, layer, "station", keyword="layer", prefer="stations"), None
        where = f"station file {stations}"
    if raw.crs is None:
        raise InputError(f"{where} has no CRS; add one (e.g. ogr2ogr -a_srs EPSG:4326)")
    ids = read_stations(raw, where=where, id_keyword=None, commune_keyword=None)
    return raw.reset_index(drop=True), ids.reset_index(drop=True)


def _read_polygons(source, layer, what: str, keyword: str | None = None, prefer: str | None = None):
    """A polygon layer given as a path (checked local and readable) or a GeoDataFrame; its CRS required."""
    import geopandas as gpd

    from .read import check_file, read_polygons, refuse_bad_vertices

    if isinstance(source, gpd.GeoDataFrame):
        gdf, where = source, f"{what} layer"
    else:
        path = Path(os.fspath(source))
        check_file(path, what, option(what) if what == "source" else what.upper())
        where = f"{what} file {path}"
        try:
            gdf = read_polygons(path, layer, prefer, where, keyword or f"{what}_layer")[0]
        except InputError:
            raise
        except Exception as exc:  # GDAL raises many kinds
            msg = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
            raise InputError(f"cannot read {where} as a vector layer ({msg})") from None
    if gdf.crs is None:
        raise InputError(f"{where} has no CRS; add one (e.g. ogr2ogr -a_srs EPSG:2154)")
    if len(gdf) == 0 or gdf.geometry.isna().all():
        raise InputError(f"{where} holds no polygon; give the layer of the areas the counts are published for")
    if what == "source":  # a NaN or absurd vertex would stop GEOS mid-run (the stations' reader refuses its own)
        refuse_bad_vertices(gdf.geometry.values, np.array([f"#{i + 1}" for i in range(len(gdf))], dtype=object),
                            gdf.crs, where, "area")
    return gdf


def _work_crs(ids):
    """Where areas are measured: the stations' CRS when projected, else their UTM zone."""
    return ids.crs if ids.crs.is_projected else ids.geometry.estimate_utm_crs()


@dataclass
class _Kinds:
    """The columns carried: counts, (rate, weight) pairs, and every one needed as numbers by source area."""

    extensive: list
    intensive: list
    numbers: pd.DataFrame


def _source_values(src, data, key, source_key):
    """(the candidate columns by source area, in the source's order; the source's codes, the field they
    come from and the note on its choice, each None without data)."""
    if data is None:
        if key is not None:
            raise InputError(f"{option('key')} names a column of {option('data')}: give the data table too, "
                             "or leave both out to carry the source layer's own fields")
        fields = pd.DataFrame(src.drop(columns=src.geometry.name)).reset_index(drop=True)
        # a layer's text fields are codes and names (Filosofi's commune_centroid holds "94067"): not counts
        return fields[[c for c in fields.columns if pd.api.types.is_numeric_dtype(fields[c])
                       and not pd.api.types.is_bool_dtype(fields[c])]], None, None, None
    if key is None:
        raise InputError(f"give {option('key')}: the column of {option('data')} that holds the source areas' codes")
    table, where = _read_data(data)
    if key not in table.columns:
        raise InputError(f"{where} has no column {key!r} for {option('key')} (columns: "
                         f"{', '.join(list(table.columns)[:12])}{', …' if len(table.columns) > 12 else ''})")
    keys = table[key].str.strip()
    table, keys = table[keys != ""], keys[keys != ""]  # a row without code belongs to no area
    if keys.duplicated().any():
        raise InputError(f"{where}: code {keys[keys.duplicated()].iloc[0]!r} of column {key!r} is on several rows; "
                         "give one row per source area")
    codes, matched, note = _source_codes(src, keys, key, source_key)
    values = table.drop(columns=[key]).set_index(keys.to_numpy()).reindex(codes.to_numpy()).reset_index(drop=True)
    return values, codes, matched, note


def _read_data(data):
    """A CSV table as text (codes keep their leading zeros), its separator sniffed as the address reader's."""
    import io

    from .read import Inflated, check_file, is_gzip, sniff_text

    path = Path(os.fspath(data))
    check_file(path, "data", option("data"))
    where = f"data file {path}"
    try:
        encoding, sep, _ = sniff_text(path)
        # a .gz read through the inflation check: a decompression bomb fails after a few MiB
        with (io.BufferedReader(Inflated(path, "data file")) if is_gzip(path) else open(path, "rb")) as f:
            table = pd.read_csv(f, sep=sep, dtype=str, encoding=encoding, keep_default_na=False)
    except InputError as exc:
        raise InputError(str(exc).replace("address file", "data file")) from None
    except (ValueError, OSError, UnicodeError) as exc:
        raise InputError(f"cannot read {where} as a CSV table ({str(exc).splitlines()[0][:200]})") from None
    table.columns = [str(c).strip() for c in table.columns]
    return table, where


def _source_codes(src, keys: pd.Series, key: str, source_key):
    """The source layer's codes for the data's key, the field they come from, and a note or None.

    The field is source_key, else the one whose codes match the most data keys (the field
    named key among the best). Passing over the field named key is said in the note.
    """
    fields = [c for c in src.columns if c != src.geometry.name]
    if source_key is not None and source_key not in fields:
        raise InputError(f"source layer has no field {source_key!r} for {option('source_key')} "
                         f"(fields: {', '.join(fields)})")
    wanted = set(keys)
    text = {f: _as_text(src[f]) for f in ([source_key] if source_key else fields)}
    matches = {f: int(v.isin(wanted).sum()) for f, v in text.items()}
    most = max(matches, key=matches.get, default=None)  # the first field of the best, in the layer's order
    best = source_key or (key if key in matches and matches[key] == matches.get(most) else most)
    if best is None or matches.get(best, 0) == 0:
        raise InputError(f"no code of the data's column {key!r} (e.g. {next(iter(sorted(wanted)), '')!r}) is found in "
                         f"the source layer's field {best or '(none)'}; name the field with {option('source_key')}")
    note = None
    if best != key and key in matches:
        note = (f"source areas matched on their field {best!r} ({matches[best]:,} of {len(src):,} codes found in the "
                f"data), not on their field {key!r} named like the key ({matches[key]:,} found); "
                f"give {option('source_key', key)} to match on it")
    return text[best].reset_index(drop=True), best, note


def _as_text(values: pd.Series) -> pd.Series:
    """Codes as stripped text (a numeric field's integers without ``.0``)."""
    if pd.api.types.is_float_dtype(values):
        values = values.astype("Int64")
    return values.astype("string").str.strip()


def _column_kinds(values: pd.DataFrame, columns, extensive, intensive, key) -> _Kinds:
    """Which columns are counts and which are averaged, each checked numeric (see the module docstring)."""
    pairs = _intensive_pairs(intensive)
    numeric = {c: _numbers(values[c]) for c in values.columns}
    named = [c for c in (list(columns or []) + list(extensive or []) + [x for p in pairs for x in p])]
    for c in named:
        if c not in values.columns:
            raise InputError(f"column {c!r} is not in the data (columns: {', '.join(map(str, values.columns[:12]))}"
                             f"{', …' if len(values.columns) > 12 else ''})")
        if numeric[c] is None:
            raise InputError(f"column {c!r} of the data is not numeric (its cells are not all numbers); "
                             "leave it out of the columns carried")
    carried = list(columns) if columns else [c for c in values.columns if numeric[c] is not None
                                             and c != key and str(c).upper() not in GEOGRAPHY_COLUMNS
                                             and str(c).upper() not in NOT_COUNTS]
    rates = [c for c, _ in pairs]
    if extensive is None:
        counts = [c for c in carried if c not in rates]
    else:
        counts = list(extensive)
        unknown = [c for c in carried if c not in counts and c not in rates]
        if unknown:
            raise InputError(f"column {unknown[0]!r} is of unknown kind ({len(unknown)} such columns): add it to "
                             f"{option('extensive')} (a count) or {option('intensive')} as {unknown[0]}:WEIGHT "
                             f"(a rate or mean), or leave it out of {option('columns')}")
    needed = list(dict.fromkeys(counts + [x for p in pairs for x in p]))
    numbers = pd.DataFrame({c: numeric[c] for c in needed}, index=values.index)
    _refuse_huge(numbers)
    return _Kinds(counts, pairs, numbers)


#: Largest magnitude accepted in a carried column: sums of such values stay exact to the unit in float64
#: (a census count is under 10 million; 1e308 would sum to infinity).
MAX_VALUE = 1e15


def _refuse_huge(numbers: pd.DataFrame) -> None:
    """Refuse a value no count or rate can have, naming its column (a broken export, or not a count)."""
    huge = np.abs(numbers.to_numpy(dtype=float)) > MAX_VALUE
    if huge.any():
        row, col = np.argwhere(huge)[0]
        raise InputError(f"column {numbers.columns[col]!r} of the data holds {numbers.iat[row, col]:g}, beyond "
                         f"{MAX_VALUE:g}: not a count or a rate; fix the table, or leave the column out")


def _intensive_pairs(intensive) -> list:
    """``["RATE:WEIGHT", …]`` (or a mapping) as [(rate, weight), …]."""
    if intensive is None:
        return []
    items = intensive.items() if isinstance(intensive, dict) else [str(x).partition(":")[::2] for x in intensive]
    pairs = [(str(c).strip(), str(w).strip()) for c, w in items]
    for c, w in pairs:
        if not c or not w:
            raise InputError(f"{option('intensive', c + ':' + w)}: give an averaged column with its weight column, "
                             "as COLUMN:WEIGHT_COLUMN (e.g. TX_CHOM:P16_ACT1564)")
    return pairs


#: A code written with a leading zero (``00851``): text, never a count.
_CODE = r"^0\d"


def _numbers(values: pd.Series):
    """The column as floats (empty cells NaN), or None when a cell is not a number or the column is a code."""
    if pd.api.types.is_bool_dtype(values):
        return None
    if pd.api.types.is_numeric_dtype(values):
        out = values.to_numpy(dtype=float, na_value=np.nan)
    else:
        text = values.astype("string").str.strip()
        present = text.notna() & (text != "")
        if not present.any() or text[present].str.contains(_CODE).any():
            return None
        out = pd.to_numeric(text.where(present).str.replace(",", ".", regex=False),
                            errors="coerce").to_numpy(dtype=float, na_value=np.nan)
        if np.isnan(out[present.to_numpy(dtype=bool)]).any():
            return None
    return out  # an infinite one is refused by _refuse_huge, naming it


def _pieces(sources, targets, src, raw):
    """maup's intersections of the source areas near the stations with the stations (index: source, target)."""
    import maup
    import shapely

    def usable(geoms):
        arr = geoms.to_numpy()  # shapely's tests: GeoSeries.notna warns on empty geometries
        ok = ~shapely.is_missing(arr) & ~shapely.is_empty(arr)
        return geoms[ok].set_axis(np.flatnonzero(ok)).make_valid()

    stations, areas = usable(targets), usable(sources)
    near = np.unique(shapely.STRtree(stations.to_numpy()).query(areas.to_numpy(), predicate="intersects")[0])
    pieces = maup.intersections(areas.iloc[near], stations, area_cutoff=0) if len(near) else None
    if pieces is None or len(pieces) == 0:
        raise InputError(
            f"the source layer and the station layer do not overlap (source bounds "
            f"{_bounds(src)}, stations {_bounds(raw)} in their CRS): give the source areas of the stations' "
            "communes, and check that each file's CRS is the right one"
        )
    return pieces


def _bounds(gdf) -> str:
    x0, y0, x1, y1 = gdf.total_bounds
    return f"[{x0:.6g}, {y0:.6g}, {x1:.6g}, {y1:.6g}] ({gdf.crs.to_string() if gdf.crs else 'no CRS'})"


def _refuse_missing_rows(values, codes, pieces, kinds: _Kinds) -> None:
    """A source area overlapping the stations with no data row would carry nothing: refused, named."""
    if codes is None:
        return
    used = np.unique(pieces.index.get_level_values("source"))
    missing = used[values.iloc[used].isna().all(axis=1).to_numpy()]
    if len(missing):
        raise InputError(f"source area {codes.iloc[missing[0]]!r} overlaps the stations but has no row in the data "
                         f"({len(missing):,} such areas): give the data of every source area of the stations' "
                         "communes (the same vintage as the layer)")


def _weights(pieces, sources, addresses: tuple, weights: str, work, targets):
    """Each piece's share of its source area's count, whether it came by area, and each area's covered share.

    A source area carries its covered share (:func:`_covered`) of its count, never more:
    split among its pieces by the addresses each holds, or by their areas where its pieces
    hold no address (or with ``weights="area"``). The shares of an area add up to its
    covered share.
    """
    src = pieces.index.get_level_values("source").to_numpy()
    covered = _covered(sources, targets)
    area = pieces.area.to_numpy()
    by_area = area / np.bincount(src, area, minlength=len(sources))[src]
    if weights == "area":
        fallback = np.ones(len(pieces), dtype=bool)
        share = by_area
    else:
        piece_count = _address_counts(pieces, addresses, work)
        held = np.bincount(src, piece_count, minlength=len(sources))[src]
        fallback = held == 0
        with np.errstate(invalid="ignore", divide="ignore"):
            share = np.where(fallback, by_area, piece_count / held)
    return (pd.Series(covered[src] * share, index=pieces.index), pd.Series(fallback, index=pieces.index),
            covered)


#: Gaps narrower than twice this (m) between the stations count as their territory when a source
#: area's covered share is measured (:func:`_covered`): the streets, squares and river an official
#: map leaves out between its sectors are not land beyond the stations.
TERRITORY_CLOSING_M = 50.0


def _covered(sources, targets) -> np.ndarray:
    """Each source area's share inside the stations' territory: area(source ∩ territory) / area(source).

    The territory is the union of the stations, closed by :data:`TERRITORY_CLOSING_M`
    (grown, then shrunk back): the streets and the river between official sectors are
    inside it, the land beyond the outer edge (a neighbouring commune's IRIS) is not.
    """
    import shapely

    geoms = targets.to_numpy()
    geoms = geoms[~shapely.is_missing(geoms) & ~shapely.is_empty(geoms)]
    # mitred both ways: a square corner comes back square (round joins would shave each corner)
    territory = shapely.buffer(shapely.buffer(shapely.union_all(shapely.make_valid(geoms)), TERRITORY_CLOSING_M,
                                              join_style="mitre"), -TERRITORY_CLOSING_M, join_style="mitre")
    area = sources.area.to_numpy()
    src = sources.geometry.to_numpy()
    ok = ~shapely.is_missing(src) & ~shapely.is_empty(src)
    inside = np.zeros(len(src))
    shapely.prepare(territory)
    inside[ok] = shapely.area(shapely.intersection(shapely.make_valid(src[ok]), territory))
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.clip(np.where(area > 0, inside / area, 0.0), 0.0, 1.0)


def _address_counts(pieces, addresses: tuple, work) -> np.ndarray:
    """The address weights (``nb_adresses``) in each piece.

    ``addresses``: (the table, its layer, its coordinates' CRS) as :func:`profile` was given them.

    Each address counts in one piece at most (the first holding it: an address on a shared
    edge is not counted twice); addresses outside the stations count nowhere.
    """
    import geopandas as gpd
    import shapely

    from .read import AddressTable, read_addresses

    source, layer, crs = addresses
    table = source if isinstance(source, AddressTable) else read_addresses(source, crs=crs, addresses_layer=layer)
    rows = table.rows[np.isfinite(table.rows["x"]) & np.isfinite(table.rows["y"])]
    points = gpd.points_from_xy(rows["x"], rows["y"], crs=table.crs).to_crs(work)
    weight = rows["weight"].to_numpy(dtype=float)
    pt, piece = shapely.STRtree(pieces.to_numpy()).query(np.asarray(points), predicate="intersects")
    order = np.lexsort((piece, pt))  # by address, then piece: the first piece of each address
    pt, piece = pt[order], piece[order]
    first = np.unique(pt, return_index=True)[1]
    return np.bincount(piece[first], weight[pt[first]], minlength=len(pieces))


def _carry(pieces, kinds: _Kinds, w, fallback, covered, n: int):
    """The carried columns by station (maup.prorate), the area-fallback share, and the totals."""
    import maup

    stations = pd.RangeIndex(n)
    out = {}
    counts = kinds.numbers[kinds.extensive]
    if kinds.extensive:
        carried = maup.prorate(pieces, counts, w).reindex(stations, fill_value=0.0)
        out.update({c: carried[c].to_numpy() for c in kinds.extensive})
    for rate, weight in kinds.intensive:
        mass = kinds.numbers[weight].where(kinds.numbers[rate].notna())
        num = maup.prorate(pieces, kinds.numbers[rate] * mass, w).reindex(stations, fill_value=0.0)
        den = maup.prorate(pieces, mass, w).reindex(stations, fill_value=0.0)
        with np.errstate(invalid="ignore", divide="ignore"):
            out[rate] = np.where(den.to_numpy() > 0, num.to_numpy() / den.to_numpy(), np.nan)
    total = counts.sum(axis=1, min_count=1).fillna(0.0) if kinds.extensive else pd.Series(1.0, index=counts.index)
    every = maup.prorate(pieces, total, w).reindex(stations, fill_value=0.0).to_numpy()
    by_area = maup.prorate(pieces, total, w * fallback).reindex(stations, fill_value=0.0).to_numpy()
    with np.errstate(invalid="ignore", divide="ignore"):
        share = np.where(every > 0, by_area / every, 0.0)
    totals = _totals(counts, out, covered, kinds.extensive)
    overall = float(by_area.sum() / every.sum()) if every.sum() > 0 else 0.0
    return out, share, totals, overall


def _totals(counts: pd.DataFrame, out: dict, covered: np.ndarray, columns: list) -> dict:
    """Per count column: the sum carried onto the stations, the source areas' covered part, and their whole.

    ``sources_covered`` (each area's count × its covered share) is what the stations must
    hold; ``sources`` is the whole count of the areas overlapping them (more: the parts of
    the areas across the stations' edge are not carried).
    """
    over = covered > 0
    return {c: {"stations": float(np.nansum(out[c])),
                "sources_covered": float(np.nansum(counts[c].to_numpy(dtype=float) * covered)),
                "sources": float(np.nansum(counts[c].to_numpy(dtype=float)[over]))} for c in columns}


def _assemble(raw, ids, out: dict, share, kinds: _Kinds, totals: dict, overall: float, fallback, pieces) -> Profile:
    """The table keyed by the station ids and the station layer with the same columns added.

    Each frame is made in one go from a dict of columns: inserted one by one, a hundred
    columns fragment it (pandas' PerformanceWarning on every run).
    """
    head = {"id_bv": ids["id_bv"].to_numpy(dtype=object)}
    if "code_bv" in raw.columns:
        head["code_bv"] = raw["code_bv"].to_numpy(dtype=object)
    added = {"area_fallback_share": np.asarray(share)}
    for c, v in out.items():
        if c in head or c in added:
            raise InputError(f"the data's column {c!r} has the name of a column of the profile; "
                             "rename it, or leave it out")
        added[c] = v
    clash = [c for c in added if c in raw.columns]
    if clash:
        raise InputError(f"the station layer already has a field {clash[0]!r}, a column the profile adds; "
                         "rename it, or leave the column out")
    table = pd.DataFrame({**head, **added})
    layer = pd.concat([raw, pd.DataFrame(added, index=raw.index)], axis=1)
    src = pieces.index.get_level_values("source").to_numpy()
    without = int(len(np.unique(src[fallback.to_numpy()])))
    return Profile(table, layer, kinds.extensive, [f"{c}:{w}" for c, w in kinds.intensive], overall, without, totals)


#: Suffixes of a profile written as a table.
TABLE_SUFFIXES = (".csv",)


def write_profile(result: Profile, path: str) -> None:
    """Write ``result`` atomically: a ``.csv`` table, or the station layer in any station format.

    Parameters
    ----------
    result : Profile
        What :func:`profile` returned.
    path : str
        ``.csv`` for the table (text cells made spreadsheet-safe), else any output format
        of :func:`boundaries.write.write_stations` (``.gpkg``, ``.geojson``, ``.fgb``…).
    """
    from .write import atomic_path, spreadsheet_safe, write_stations

    if Path(path).suffix.lower() in TABLE_SUFFIXES:
        with atomic_path(path, suffix=".csv") as tmp:
            spreadsheet_safe(result.table).to_csv(tmp, index=False, lineterminator="\n")
        return
    write_stations(result.stations, path, style_qml=None)
