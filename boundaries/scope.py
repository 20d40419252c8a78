"""Scope and projection: the rows a build selects, the outline unit each is built in, metres.

After reading (:mod:`boundaries.read`), :func:`scope` keeps the selected
départements and communes, checks that the coordinates can be what they claim,
matches each row to the outline it is built in (its commune's, or its city's for
the arrondissements of Paris, Lyon and Marseille) and projects rows and outlines
to each territory's metric CRS.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from . import codes
from .errors import InputError, option
from .read import blank_rows


@dataclass
class Scope:
    """The rows of a build, in scope and in metres.

    Attributes
    ----------
    rows : pandas.DataFrame
        The canonical rows (:mod:`boundaries.read`) of the selection, with ``unit``
        (the outline code each is built in, None without one), ``px``/``py`` (metres,
        the territory's CRS) and ``station_key`` (commune and station id).
    outlines : geopandas.GeoDataFrame
        The outlines of the units used, in their file's CRS.
    unit_geom : dict
        Each unit's outline in its territory's metric CRS.
    units : list of str
        The units used, sorted.
    rows_out_of_scope : int
        Rows of other départements or communes (those skipped while reading included).
    duplicate_rows : int
        Rows equal to an earlier one in every field read.
    """

    rows: pd.DataFrame
    outlines: object
    unit_geom: dict
    units: list
    rows_out_of_scope: int
    duplicate_rows: int


def scope(table, layer, departement=(), commune=(), required: bool = True) -> Scope:
    """The selected rows of ``table`` (an :class:`~boundaries.read.AddressTable`), in the units of ``layer``.

    ``required``: refuse a table none of whose communes has an outline (False for
    the rows of a national run that no outline covers: they are only reported).

    Raises
    ------
    InputError
        An empty selection, coordinates that are not what they claim
        (:func:`check_coordinates`), or no commune of the rows in the outlines.
    """
    keep = select_scope(table.rows, departement, commune, table.where)
    rows = table.rows.loc[keep].reset_index(drop=True)
    rows["commune"] = rows["commune"].fillna("")
    rows["station"] = rows["station"].fillna("")
    check_coordinates(rows, table.crs, table.where, table.x_column, table.y_column)
    duplicates = duplicate_rows(rows)
    outlines = layer.outlines
    rows["unit"] = match_units(rows["commune"].to_numpy(), outlines["code"])
    units = sorted(rows["unit"].dropna().unique())
    if not units and required:
        named = rows.loc[rows["commune"] != "", "commune"]
        if named.empty:
            raise InputError(f"no row of {table.where} has a commune code; name the column that holds it with "
                             f"{option('commune_column')}")
        raise InputError(
            f"none of the {named.nunique():,} communes of the addresses is in the "
            f"{layer.where} (e.g. {named.iloc[0]}; its codes look like "
            f"{outlines['code'].iloc[0]}); give the outlines of these communes with {option('communes')}, or "
            f"name their code field with {option('commune_field')}"
        )
    outlines = outlines[outlines["code"].isin(units)].reset_index(drop=True)
    rows, unit_geom = project(rows, table.crs, outlines)
    rows["station_key"] = rows["commune"] + "\x1f" + rows["station"]
    return Scope(rows, outlines, unit_geom, units, int((~keep).sum()) + table.rows_skipped, duplicates)


def read_prefixes(departement=(), commune=()) -> tuple[str, ...] | None:
    """Commune-code prefixes a file can be filtered by while read: the selected départements'."""
    deps = [d for d in departement if codes.is_departement_code(d)]
    coms = [c for c in commune if codes.is_commune_code(c)]
    if coms:
        deps = deps or sorted({codes.departement_of(c) for c in coms})
    elif not deps:
        return None
    return tuple(deps)


def selected_communes(commune=()) -> frozenset:
    """The commune codes a ``commune`` selection keeps: those given, and a city's arrondissements."""
    return frozenset(commune) | {a for c in commune for a in codes.PLM_CITIES.get(c, [])}


def select_scope(rows: pd.DataFrame, departement=(), commune=(), where: str = "the address table") -> np.ndarray:
    """Mask of the rows in the selected départements and communes (codes already checked).

    A city code (75056, 69123, 13055) given as ``commune`` selects its arrondissements.

    Raises
    ------
    InputError
        A selected département or commune without any row: a mistyped code is named,
        not silently left out of a build of the others.
    """
    keep = np.ones(len(rows), dtype=bool)
    if departement:
        keep &= np.isin(codes.departement_of(rows["commune"].fillna("").to_numpy()), list(departement))
        if not keep.any():
            found = sorted({d for d in codes.departement_of(rows["commune"].dropna().unique()) if d})
            raise InputError(
                f"no address in département {', '.join(departement)} (the table has: {', '.join(found[:20])})"
            )
    if commune:
        keep &= rows["commune"].isin(selected_communes(commune)).to_numpy()
        found = set(rows.loc[keep, "commune"].unique())
        missing = [c for c in commune if not found & selected_communes((c,))]
        if missing:
            raise InputError(f"no address in commune {', '.join(missing)} in {where}"
                             f"{' within the selection' if departement else ''}; "
                             f"check {option('departement')} / {option('commune')}")
    return keep


def match_units(commune_codes: np.ndarray, outline_codes) -> np.ndarray:
    """The outline each commune is built in: its own, else its whole city (PLM), else None."""
    outline_codes = set(outline_codes)
    mapping = {}
    for c in pd.unique(commune_codes):
        if c in outline_codes:
            mapping[c] = c
        elif codes.ARRONDISSEMENT_CITY.get(c) in outline_codes:
            mapping[c] = codes.ARRONDISSEMENT_CITY[c]
        else:
            mapping[c] = None
    if not len(commune_codes):
        return np.array([], dtype=object)
    return np.array([mapping[c] for c in commune_codes], dtype=object)


def project(rows: pd.DataFrame, src_crs: str, outlines) -> tuple[pd.DataFrame, dict]:
    """Add metric ``px``/``py`` to rows and project outlines, per territory CRS."""
    from pyproj import Transformer

    rows["px"] = np.nan
    rows["py"] = np.nan
    unit_crs = {u: codes.territory_crs(codes.departement_of(u)) for u in outlines["code"]}
    projected = {}
    row_crs = pd.Series(rows["unit"].map(unit_crs).to_numpy(dtype=object))
    for crs in sorted(set(unit_crs.values())):
        sel = outlines[outlines["code"].map(unit_crs) == crs]
        for code, geom in zip(sel["code"], sel.to_crs(crs).geometry.values):
            projected[code] = geom
        mask = (row_crs == crs).to_numpy()
        if mask.any():
            transformer = Transformer.from_crs(src_crs, crs, always_xy=True)
            px, py = transformer.transform(rows["x"].to_numpy()[mask], rows["y"].to_numpy()[mask])
            rows.loc[mask, "px"] = px
            rows.loc[mask, "py"] = py
    return rows, projected


def check_coordinates(rows: pd.DataFrame, src_crs: str, where: str = "address table",
                      x_column: str = "longitude", y_column: str = "latitude") -> None:
    """Catch coordinates that cannot be French longitude/latitude in the stated CRS.

    Metres given as degrees (beyond ±180/±90), longitude and latitude swapped (most points
    outside France, inside it once exchanged), or points nowhere near France: one line saying
    which, with an example row and the option that fixes it. A minority of such points is
    not an error: those rows are dropped later, and counted (``outside_commune``).
    """
    from pyproj import CRS

    if not CRS.from_user_input(src_crs).is_geographic:
        return
    x, y = rows["x"].to_numpy(), rows["y"].to_numpy()
    finite = np.isfinite(x) & np.isfinite(y)
    if not finite.any():
        return
    fx, fy, frow = x[finite], y[finite], rows["row"].to_numpy()[finite]
    out = (np.abs(fx) > 180) | (np.abs(fy) > 90)
    if out.mean() > 0.5:
        raise InputError(
            f"{where}: coordinates are not longitude/latitude in degrees ({out.sum():,} rows beyond ±180/±90, "
            f"e.g. {fx[out][0]:.1f}, {fy[out][0]:.1f}); if they are metres, say which CRS "
            f"with {option('crs')} (e.g. {option('crs', 'EPSG:2154')})"
        )
    abroad = ~codes.in_france(fx, fy)
    if abroad.mean() <= 0.5:
        return
    i = int(np.flatnonzero(abroad)[0])
    example = f"data row {frow[i] + 1}: {x_column} {fx[i]:g}, {y_column} {fy[i]:g}"
    if codes.in_france(fy[abroad], fx[abroad]).mean() > 0.5:
        raise InputError(
            f"{where}: {x_column} and {y_column} look swapped ({abroad.sum():,} of {len(fx):,} points fall "
            f"outside France, and inside it once exchanged; {example}); exchange the two columns, or say "
            f"{option('x_column', y_column)} {option('y_column', x_column)}"
        )
    raise InputError(
        f"{where}: {abroad.sum():,} of {len(fx):,} points fall outside France and its overseas territories "
        f"({example}); check which columns hold longitude and latitude ({option('x_column')}, "
        f"{option('y_column')}) and their CRS ({option('crs')})"
    )


def duplicate_rows(rows: pd.DataFrame) -> int:
    """Rows equal to an earlier row in every field read (duplicated REU lines).

    Only rows sharing their coordinates with another row can be duplicates: the
    string columns are compared on those alone (a few percent of a national table).
    """
    # empty lines are no addresses, let alone duplicated ones
    same_place = rows.duplicated(["x", "y"], keep=False).to_numpy() & ~blank_rows(rows)
    if not same_place.any():
        return 0
    return int(rows.loc[same_place].duplicated(
        ["commune", "station", "x", "y", "geo_type", "address", "geo_score", "weight"]).sum())
