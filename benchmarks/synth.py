"""Seeded generator of a national-shape INSEE REU address table and commune outlines.

    python -m benchmarks.synth --rows 16000000 --departements 96 --seed 0 -o /tmp/synth/fr

writes into the folder:

- ``addresses.parquet``: the REU columns (codes as strings, float64 longitude/latitude in WGS84,
  null where a row has no coordinates), one row group per département (a département with more
  than ``ROW_GROUP_ROWS`` rows gets several), rows sorted by commune code, then station, street and
  number, so a reader filters a département from the row-group statistics of ``code_commune_ref``;
- with ``--layout mixed``, ``addresses.parquet`` is instead the same rows shuffled (seeded)
  into row groups of ``--row-group-rows`` rows (1,000,000 by default), each spanning all
  départements, so no row group can be skipped by its statistics; ``--layout both`` writes
  the sorted ``addresses.parquet`` and the shuffled ``addresses.mixed.parquet``;
- ``addresses.csv.gz`` with ``--csv`` (the same table as gzipped CSV, gzip level 1), in the
  sorted order or, with ``--csv-order shuffled``, in the shuffled order of the mixed table;
- ``communes.gpkg``: the commune outlines in Lambert-93 (EPSG:2154), fields ``code`` and ``nom``
  (with pyogrio, 35,000 communes read in 0.035 s from GeoPackage against 0.33 s from GeoJSON);
- ``summary.json``: the shape statistics (also returned by :func:`synth`).

Shape ("national shape": France has about 16 M rows, 69,000 stations, 35,000 communes, 6,800 of
them with several stations, ~100 départements):

- rows are split between départements (log-normal sizes); département codes ``01``…``95`` without
  ``20``, then ``2A``, ``2B``; communes get ``rows × 35000 / 16 M`` in all, shared between
  départements (at most 999 each: codes are ``{dep}{001..999}``, in the alphabetical order of the
  generated names, as INSEE does);
- each département is a square of Lambert-93 (``15.7 km²`` per commune, the French mean) tiled
  exactly by the Voronoi cells of the commune centres (Poisson-disc darts, cities first, so that a
  city's built-up disc lies inside its own cell);
- commune sizes: 1–4 cities take 12–40 % of the département's rows (Zipf among them), the rest is
  log-normal; the largest ~19.5 % of communes get several stations and the others one, the
  station count of a département is about ``rows / 232``;
- addresses: a rotated street grid in a built-up disc around the commune centre (denser and
  tighter in big communes), houses along both sides (odd numbers left, even right), plus a rural
  share along a few winding country roads out towards the commune edge;
- stations: recursive balanced bisection of the commune's addresses along its street grid's
  axes, so each station is a contiguous set of blocks (streets on a cut are split by side);
- noise: ``geo_type`` ≈ 95 % ``housenumber``, then ``street`` (coordinate moved to the street's
  middle), ``interpolation``, ``locality``, ``municipality`` (commune centre, shared by several
  stations); ~0.1 % rows without coordinates; ``geo_score`` by type in 0.3–1; ``nb_adresses`` 1
  for ~92 %. No row lies outside its commune (rows far from their commune are not simulated).

Measured here (2 cores, one run each): 1 M rows / 10 départements in 5.2 s, 0.45 GB peak RSS
(parquet 15.9 MB; with ``--csv`` 10.6 s and a 17.2 MB CSV.gz); 16 M rows / 96 départements in 91 s,
0.82 GB peak RSS, parquet 247 MB (96 row groups; one département reads in 0.25 s with a
``code_commune_ref`` filter), GeoPackage 9.2 MB — 34,900 communes, 69,432 stations, 80.7 % of
communes with one station, 111 with ≥ 50 stations, the largest at the 900-station cap.

The shuffled layouts are made from the sorted table without holding it in memory: a seeded
permutation gives each row its output position, one pass scatters each sorted row group into
a temporary Arrow file per output row group, a second writes each of those in position order
(:func:`shuffle_table`). Measured here (2 cores, a busy machine: load ≈ 2.5, ``/usr/bin/time
-v``), 1 M rows / 6 départements: sorted only 8.1 s, 0.45 GB peak RSS; with ``--layout both
--csv --csv-order shuffled`` 15.9 s (6.9 s user + 2.0 s system), 0.69 GB peak RSS
(addresses.parquet 15.6 MB, addresses.mixed.parquet 32.2 MB, addresses.csv.gz 43.4 MB).

Everything is vectorised with numpy per département (one short loop per commune only to throw
the commune centres). Same arguments → byte-identical files.
"""

from __future__ import annotations

import argparse
import json
import shutil
import sys
import tempfile
import time
from pathlib import Path
from types import SimpleNamespace

import numpy as np

#: Mainland département codes in the order they are taken (Corsica last).
DEPARTEMENT_CODES = [f"{i:02d}" for i in range(1, 96) if i != 20] + ["2A", "2B"]
NATIONAL_ROWS = 16_000_000
NATIONAL_COMMUNES = 35_000
ROWS_PER_STATION = 245  # before the minimum of 2 stations per multi-station commune: ≈ 232 after
COMMUNE_AREA_M2 = 15.7e6
ROW_GROUP_ROWS = 1_000_000
#: Rows per row group of the shuffled ("mixed") Parquet layout: each spans all départements.
MIXED_ROW_GROUP_ROWS = 1_000_000
LAYOUTS = ("sorted", "mixed", "both")
LAYOUT_CENTRE = (680_000.0, 6_600_000.0)  # Lambert-93 centre of the département layout (France)
SCHEMA_FIELDS = [
    ("code_commune_ref", "string"),
    ("reconstitution_code_commune", "string"),
    ("id_brut_bv_reu", "string"),
    ("id", "int64"),
    ("geo_adresse", "string"),
    ("geo_type", "string"),
    ("geo_score", "float64"),
    ("longitude", "float64"),
    ("latitude", "float64"),
    ("api_line", "string"),
    ("nb_bv_commune", "int64"),
    ("nb_adresses", "int64"),
]
GEO_TYPES = ["housenumber", "street", "interpolation", "locality", "municipality"]
GEO_TYPE_P = [0.952, 0.025, 0.012, 0.008, 0.003]
GEO_SCORE = [(0.75, 0.99), (0.45, 0.75), (0.60, 0.85), (0.40, 0.70), (0.30, 0.50)]
EMPTY_FRACTION = 0.001

STREET_TYPES = ["Rue", "Rue", "Rue", "Avenue", "Allée", "Impasse", "Boulevard", "Place", "Chemin"]
STREET_NAMES = [
    "des Lilas", "Jean Jaurès", "Victor Hugo", "de la République", "Pasteur", "des Écoles",
    "de la Gare", "du Général de Gaulle", "des Tilleuls", "des Acacias", "du Stade", "de l'Église",
    "Gambetta", "Jules Ferry", "de la Mairie", "des Peupliers", "du Château", "de la Fontaine",
    "des Vignes", "des Prés", "Marcel Pagnol", "Émile Zola", "Anatole France", "du 8 Mai 1945",
    "du 11 Novembre", "de la Liberté", "des Roses", "des Chênes", "des Érables", "des Sources",
    "du Pressoir", "de la Forge", "des Jardins", "Saint-Martin", "de Verdun", "Carnot", "Voltaire",
    "Jean Moulin", "Pierre et Marie Curie", "George Sand", "des Cerisiers", "des Noyers",
    "des Mésanges", "des Alouettes", "du Pont", "de la Croix", "du Bourg", "de la Poste",
    "du Marché", "des Halles", "du Four", "de la Tour", "du Parc", "des Sablons", "des Saules",
    "des Bleuets", "des Marronniers", "du Val", "des Vergers", "de la Côte", "du Puits",
    "des Genêts", "de la Chapelle", "Aristide Briand", "Georges Clemenceau", "Paul Bert",
    "Condorcet", "Jean Macé", "des Platanes", "du Lavoir", "de la Paix", "Émile Roux",
]  # 72 names × 9 types: a commune's streets get distinct names up to 648 (coprime step)
ROAD_NAMES = ["Route de la Forêt", "Chemin du Moulin", "Route des Étangs", "Chemin de la Garenne",
              "Route du Bois", "Chemin des Landes", "Route de la Vallée", "Chemin des Crêtes"]
NAME_HEADS = ["", "", "", "", "Saint-", "Sainte-", "Le ", "La ", "Les ", "Mont", "Ville", "Fontaine-"]
NAME_ROOTS = [
    "Aubert", "Bellac", "Brives", "Chalon", "Cluny", "Dampierre", "Essey", "Fléac", "Gièvres",
    "Herbault", "Issoire", "Juvigny", "Lanvéoc", "Marcilly", "Neuvy", "Orval", "Pouilly", "Quincy",
    "Riom", "Sancerre", "Tournon", "Uzel", "Vernon", "Yzeure", "Arçon", "Blanzy", "Cormeilles",
    "Digoin", "Écuisses", "Frontenay", "Gourin", "Hennebont", "Landerneau", "Morlaix", "Nérac",
    "Ornans", "Paimpol", "Quimper", "Rostrenen", "Salers", "Thiers", "Ussel", "Vitré", "Wissant",
]
NAME_TAILS = ["", "", "", "", "", "-sur-Loire", "-en-Bresse", "-les-Bains", "-le-Château",
              "-sur-Mer", "-la-Forêt", "-le-Vieux", "-sous-Bois", "-en-Vexin", "-d'Allier"]


# --------------------------------------------------------------------------------------------
# Plan: rows, communes and stations per département (no geometry)
# --------------------------------------------------------------------------------------------


def _alloc(total: int, weights) -> np.ndarray:
    """Integers proportional to ``weights`` summing exactly to ``total`` (largest remainders)."""
    w = np.asarray(weights, dtype=float)
    q = total * w / w.sum()
    n = np.floor(q).astype(np.int64)
    rem = int(total - n.sum())
    if rem > 0:
        n[np.argsort(-(q - n), kind="stable")[:rem]] += 1
    return n


def departement_codes(k: int) -> list[str]:
    """The first ``k`` mainland codes (01…95 without 20, then 2A, 2B), in file (string) order."""
    if not 1 <= k <= len(DEPARTEMENT_CODES):
        raise ValueError(f"departements must be in 1..{len(DEPARTEMENT_CODES)} (mainland only), got {k}")
    return sorted(DEPARTEMENT_CODES[:k])


def plan_departement(rows: int, n_communes: int, rng: np.random.Generator):
    """Rows and station counts of the communes of one département (cities first).

    Returns
    -------
    (numpy.ndarray, numpy.ndarray)
        Rows per commune and stations per commune.
    """
    n_cities = int(min(1 + rng.poisson(1.5), max(1, n_communes // 4)))
    share = rng.uniform(0.12, 0.40) * np.arange(1, n_cities + 1) ** -1.2
    share[1:] *= rng.lognormal(0.0, 0.25, n_cities - 1)
    body = rng.lognormal(0.0, 1.1, n_communes - n_cities)
    if body.size:
        weights = np.concatenate([share, (1.0 - share.sum()) * body / body.sum()])
    else:
        weights = share
    floor = min(8, rows // n_communes)
    r = floor + _alloc(rows - floor * n_communes, weights)
    n_stations = max(n_communes, round(rows / ROWS_PER_STATION * rng.uniform(0.92, 1.08)))
    n_multi = max(1, round(n_communes * (1.0 - rng.uniform(0.77, 0.84))))
    order = np.argsort(-r, kind="stable")
    multi = np.zeros(n_communes, bool)
    multi[order[:n_multi]] = True
    st = np.ones(n_communes, np.int64)
    w = r[multi] ** 1.08 * rng.lognormal(0.0, 0.15, n_multi)
    st[multi] = np.maximum(2, _alloc(max(n_stations - (n_communes - n_multi), 2 * n_multi), w))
    st = np.minimum(np.minimum(st, 900), np.maximum(1, r // 40))  # ≥ 40 rows per station
    return r, st


def plan(rows: int, departements: int, rng: np.random.Generator):
    """Rows and commune counts per département."""
    codes = departement_codes(departements)
    k = len(codes)
    dep_rows = _alloc(rows, rng.lognormal(0.0, 0.7, k))
    total_communes = max(round(rows * NATIONAL_COMMUNES / NATIONAL_ROWS), 6 * k)
    weights = np.maximum(dep_rows, 1) ** 0.7 * rng.lognormal(0.0, 0.25, k)
    dep_communes = np.clip(_alloc(total_communes, weights), 6, 999)
    dep_communes = np.minimum(dep_communes, np.maximum(1, dep_rows // 8))
    if (dep_rows < 8).any():
        raise ValueError(f"too few rows ({rows}) for {k} départements")
    return codes, dep_rows, dep_communes


# --------------------------------------------------------------------------------------------
# Geometry of one département
# --------------------------------------------------------------------------------------------


def _interp_log(n, lo, hi, n_lo=100.0, n_hi=100_000.0):
    t = np.clip((np.log10(np.maximum(n, 1)) - np.log10(n_lo)) / (np.log10(n_hi) - np.log10(n_lo)), 0, 1)
    return lo + (hi - lo) * t


def throw_centres(side: float, footprint: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Commune centres in ``[0, side]²``: Poisson-disc darts, largest footprint first.

    Centres are at least ``2.1 × max(footprint)`` apart (the Voronoi bisector then clears both
    built-up discs) and at least ``0.5 ×`` the mean spacing; at least ``1.05 × footprint`` from the
    square's sides. ``footprint`` must be sorted in decreasing order.
    """
    n = footprint.size
    spacing = 0.5 * side / np.sqrt(n)
    pts = np.empty((n, 2))
    for i in range(n):
        f = footprint[i]
        lo, hi = min(1.05 * f, side / 2), max(side - 1.05 * f, side / 2)
        clear = 2.1 * footprint[:i]  # earlier ones are the larger
        relax = 1.0
        for attempt in range(200):
            cand = rng.uniform(lo, hi, (64, 2))
            d2 = ((cand[:, None, :] - pts[None, :i, :]) ** 2).sum(-1)
            ok = (d2 >= np.maximum(clear, relax * spacing) ** 2).all(axis=1)
            if ok.any():
                pts[i] = cand[np.argmax(ok)]
                break
            if attempt % 20 == 19:
                relax *= 0.8  # a crowded square relaxes the spacing, never the clearance
        else:
            raise RuntimeError("could not place a commune centre; département too crowded")
    return pts


def tile(square, centres: np.ndarray):
    """Voronoi cells of ``centres`` clipped to ``square``, in input order, on a 1 cm grid."""
    import shapely

    cells = shapely.voronoi_polygons(shapely.multipoints(centres), extend_to=square, ordered=True)
    cells = shapely.intersection(shapely.get_parts(cells), square)
    return shapely.set_precision(cells, 0.01)


def commune_names(n: int, rng: np.random.Generator) -> list[str]:
    h = rng.integers(0, len(NAME_HEADS), n)
    r = rng.integers(0, len(NAME_ROOTS), n)
    t = rng.integers(0, len(NAME_TAILS), n)
    out = []
    for a, b, c in zip(h, r, t):
        root = NAME_ROOTS[b]
        head = NAME_HEADS[a]
        if head in ("Mont", "Ville"):
            root = root.lower()
        out.append(f"{head}{root}{NAME_TAILS[c]}")
    return out


def _group_starts(counts: np.ndarray) -> np.ndarray:
    return np.cumsum(counts) - counts


def _rank_in_groups(groups_sorted: np.ndarray, counts: np.ndarray) -> np.ndarray:
    """Position of each element in its group, for an array sorted by group."""
    return np.arange(groups_sorted.size) - _group_starts(counts)[groups_sorted]


def assign_stations(commune: np.ndarray, u: np.ndarray, v: np.ndarray, n_stations: np.ndarray,
                    rng: np.random.Generator) -> np.ndarray:
    """Station number (1…n) of each point: recursive balanced bisection within each commune.

    Each group of ``k > 1`` stations is cut across its longer extent (in the commune's street-grid
    axes ``u``, ``v``) at the rank that gives ``k // 2`` stations to the first part (± 10 %), so
    stations are contiguous and of similar size.
    """
    group = commune.copy()
    k = n_stations[commune].copy()
    base = np.zeros(commune.size, np.int64)
    while (k > 1).any():
        groups, group = np.unique(group, return_inverse=True)
        g = groups.size
        umin = np.full(g, np.inf); umax = np.full(g, -np.inf)
        vmin = np.full(g, np.inf); vmax = np.full(g, -np.inf)
        np.minimum.at(umin, group, u); np.maximum.at(umax, group, u)
        np.minimum.at(vmin, group, v); np.maximum.at(vmax, group, v)
        along_u = (umax - umin) >= (vmax - vmin)
        coord = np.where(along_u[group], u, v)
        order = np.lexsort((coord, group))
        counts = np.bincount(group, minlength=g)
        rank = np.empty(commune.size, np.int64)
        rank[order] = _rank_in_groups(group[order], counts)
        kg = np.zeros(g, np.int64)
        kg[group] = k
        ka = kg // 2
        frac = ka / kg * rng.uniform(0.9, 1.1, g)
        least = counts // np.maximum(kg, 1) // 2  # each station keeps ≥ half its fair share
        cut = np.clip(np.round(frac * counts).astype(np.int64), ka * least, counts - (kg - ka) * least)
        split = kg[group] > 1
        first = rank < cut[group]
        second = split & ~first
        base = base + np.where(second, ka[group], 0)
        k = np.where(split, np.where(first, ka[group], kg[group] - ka[group]), k)
        group = 2 * group + second
    return base + 1


def layout(dep_communes: np.ndarray, gap_m: float = 2_000.0) -> list[tuple[float, float]]:
    """South-west corners (Lambert-93) of the départements' squares, packed in rows around France's centre.

    Each square's side is the one :func:`make_departement` gives its communes. Rows are filled
    west to east up to the width of a square holding them all, so 96 départements at national
    shape cover about as much land as France and stay inside its extent
    (:data:`boundaries.codes.FRANCE_EXTENTS`): a grid sized by the largest one did not, and
    the build refused it as coordinates outside France.
    """
    sides = np.ceil(np.sqrt(np.asarray(dep_communes) * COMMUNE_AREA_M2) / 100.0) * 100.0 + gap_m
    width = float(np.sqrt((sides ** 2).sum()) * 1.1)
    rows, row, used = [], [], 0.0
    for d, side in enumerate(sides):
        if row and used + side > width:
            rows.append(row)
            row, used = [], 0.0
        row.append(d)
        used += side
    rows.append(row)
    heights = [max(sides[d] for d in r) for r in rows]
    y = LAYOUT_CENTRE[1] + sum(heights) / 2
    origins: list = [None] * len(sides)
    for r, height in zip(rows, heights):
        y -= height
        x = LAYOUT_CENTRE[0] - sum(sides[d] for d in r) / 2
        for d in r:
            origins[d] = (float(x), float(y))
            x += sides[d]
    return origins


def make_departement(code: str, rows: int, n_communes: int, origin, rng: np.random.Generator):
    """Outlines and address rows of one département.

    The steps draw from ``rng`` in a fixed order: communes (:func:`_communes`), the houses
    along their streets (:func:`_built_houses`), the rural ones (:func:`_rural_houses`),
    stations and geocoding (:func:`_geocode`), street names (:func:`_columns`).

    Returns
    -------
    (dict, dict)
        Communes ``{"code", "nom", "geometry", "rows", "stations"}`` (sorted by code) and
        address columns (numpy arrays, Lambert-93 ``x``/``y``) sorted by commune, station, street.
    """
    d = _communes(code, rows, n_communes, origin, rng)
    streets, built = _built_houses(d, rng)
    roads, rural = _rural_houses(d, rng)
    points = _geocode(d, streets, built, roads, rural, rng)
    cols = _columns(d, streets, roads, points, rng)
    communes = {"code": d.codes, "nom": np.array(d.names, dtype=object), "geometry": d.cells,
                "rows": d.comm_rows, "stations": d.comm_st}
    return communes, cols


def _communes(code: str, rows: int, n_communes: int, origin, rng: np.random.Generator) -> SimpleNamespace:
    """Rows, stations, built-up disc, centre, cell, safe radius, grid angle, name and code of each commune."""
    import shapely

    comm_rows, comm_st = plan_departement(rows, n_communes, rng)
    c = n_communes
    side = float(np.ceil(np.sqrt(c * COMMUNE_AREA_M2) / 100.0) * 100.0)
    x0, y0 = origin

    # Built-up disc and street grid of each commune.
    rural_share = np.clip(0.22 - 0.05 * (np.log10(np.maximum(comm_rows, 1)) - 2), 0.03, 0.25)
    rural_share *= rng.uniform(0.7, 1.3, c)
    n_rural = np.floor(comm_rows * rural_share).astype(np.int64)
    n_built = comm_rows - n_rural
    g = _interp_log(comm_rows, 150.0, 70.0) * rng.uniform(0.85, 1.15, c)  # street spacing
    h = _interp_log(comm_rows, 28.0, 9.0)  # house spacing along one side
    r = np.maximum(np.sqrt(np.maximum(n_built, 1) * g * h / (4 * np.pi)), 60.0)
    footprint = r + 40.0
    size_order = np.argsort(-footprint, kind="stable")
    centres_local = np.empty((c, 2))
    centres_local[size_order] = throw_centres(side, footprint[size_order], rng)
    centres = centres_local + np.array([x0, y0])
    square = shapely.box(x0, y0, x0 + side, y0 + side)
    cells = tile(square, centres)

    # Safe radius: the disc of half the nearest-neighbour distance lies in the Voronoi cell.
    from scipy.spatial import cKDTree

    dnn = cKDTree(centres_local).query(centres_local, k=2)[0][:, 1] if c > 1 else np.array([side])
    to_side = np.minimum(centres_local, side - centres_local).min(axis=1)
    safe = 0.93 * np.minimum(dnn / 2.0, to_side)
    theta = rng.uniform(0, np.pi / 2, c)

    # Names and codes: codes follow the alphabetical order of the names.
    names = commune_names(c, rng)
    alpha = np.array(sorted(range(c), key=lambda i: (names[i], i)))
    number = np.empty(c, np.int64)
    number[alpha] = np.arange(1, c + 1)
    codes = np.array([f"{code}{n:03d}" for n in number], dtype=object)

    return SimpleNamespace(comm_rows=comm_rows, comm_st=comm_st, c=c, side=side, n_rural=n_rural, n_built=n_built,
                           g=g, r=r, centres=centres, cells=cells, safe=safe, theta=theta, names=names,
                           number=number, codes=codes)


def _built_houses(d: SimpleNamespace, rng: np.random.Generator) -> tuple[dict, dict]:
    """The streets of each commune's grid, and ``n_built`` houses along them (grid axes)."""
    c, r, g, n_built = d.c, d.r, d.g, d.n_built
    # Streets: two families of parallel lines u = (j + o) g, clipped to the disc.
    offset = rng.uniform(-0.5, 0.5, c) * np.minimum(1.0, r / g)
    jmax = np.floor(r / g).astype(np.int64) + 1
    per_family = 2 * jmax + 1
    s_comm = np.repeat(np.arange(c), 2 * per_family)
    s_local = np.arange(s_comm.size) - _group_starts(2 * per_family)[s_comm]
    s_family = (s_local >= per_family[s_comm]).astype(np.int64)
    j = s_local - s_family * per_family[s_comm] - jmax[s_comm]
    s_u = (j + offset[s_comm]) * g[s_comm]
    keep = np.abs(s_u) < 0.97 * r[s_comm]
    s_comm, s_family, s_u = s_comm[keep], s_family[keep], s_u[keep]
    s_half = np.sqrt(r[s_comm] ** 2 - s_u**2)
    n_streets = np.bincount(s_comm, minlength=c)
    street_len = np.maximum(2 * s_half - 10.0, 0.0)
    total_len = np.bincount(s_comm, weights=street_len, minlength=c)
    spacing = 2 * total_len / (1.1 * n_built + 2 * n_streets + 2)
    per_side = np.floor(street_len / np.maximum(spacing[s_comm], 1e-9)).astype(np.int64)
    # Houses: per street, per side (0 = left/odd, 1 = right/even), i = 0…per_side-1.
    hs = np.repeat(np.arange(s_comm.size), 2 * per_side)
    hl = np.arange(hs.size) - _group_starts(2 * per_side)[hs]
    side_ = (hl >= per_side[hs]).astype(np.int64)
    i = hl - side_ * per_side[hs]
    step = street_len[hs] / np.maximum(per_side[hs], 1)
    hv = -street_len[hs] / 2 + (i + 0.5) * step + rng.uniform(-0.2, 0.2, hs.size) * step
    hu = s_u[hs] + np.where(side_ == 0, 1.0, -1.0) * rng.uniform(8.0, 15.0, hs.size) * np.minimum(1.0, g[s_comm[hs]] / 100)
    hnum = 2 * i + 1 + side_
    hc = s_comm[hs]
    # Keep n_built houses per commune at random (gaps in the numbering).
    order = np.lexsort((rng.random(hs.size), hc))
    have = np.bincount(hc, minlength=c)
    if (have < n_built).any():
        raise RuntimeError("internal: fewer candidate houses than rows")
    take = order[_rank_in_groups(hc[order], have) < n_built[hc[order]]]
    b_comm, b_street, b_num = hc[take], hs[take], hnum[take]
    fam = s_family[b_street]
    b_u = np.where(fam == 0, hu[take], hv[take])  # grid coordinates (family 1 is rotated 90°)
    b_v = np.where(fam == 0, hv[take], hu[take])

    return ({"s_comm": s_comm, "s_family": s_family, "s_u": s_u, "n_streets": n_streets},
            {"comm": b_comm, "street": b_street, "num": b_num, "u": b_u, "v": b_v})


def _rural_houses(d: SimpleNamespace, rng: np.random.Generator) -> tuple[dict, dict]:
    """The country roads of each commune, and its ``n_rural`` houses along them (grid axes)."""
    c, r, comm_rows, n_rural, safe, theta = d.c, d.r, d.comm_rows, d.n_rural, d.safe, d.theta
    # Rural houses along 2–4 winding roads from the edge of the disc towards the commune edge.
    n_roads = 2 + (comm_rows > 300) + (comm_rows > 3000)
    road_base = _group_starts(n_roads)
    road_angle = rng.uniform(0, 2 * np.pi, n_roads.sum())
    road_phase = rng.uniform(0, 2 * np.pi, n_roads.sum())
    rc = np.repeat(np.arange(c), n_rural)
    road = road_base[rc] + rng.integers(0, n_roads[rc])
    t_max = np.maximum(safe[rc] - 60.0, r[rc] + 1.0)
    t = r[rc] + (t_max - r[rc]) * rng.random(rc.size) ** 1.5
    rside = rng.integers(0, 2, rc.size)
    lat = np.where(rside == 0, 1.0, -1.0) * rng.uniform(10.0, 20.0, rc.size) + 40.0 * np.sin(t / 300.0 + road_phase[road])
    ang = road_angle[road] - theta[rc]  # in grid axes
    r_u = t * np.cos(ang) - lat * np.sin(ang)
    r_v = t * np.sin(ang) + lat * np.cos(ang)
    r_num = (t // 2).astype(np.int64) * 2 + 1 + rside  # metric numbering

    return ({"n_roads": n_roads, "road_base": road_base, "road_angle": road_angle},
            {"comm": rc, "road": road, "num": r_num, "u": r_u, "v": r_v})


def _geocode(d: SimpleNamespace, streets: dict, built: dict, roads: dict, rural: dict,
             rng: np.random.Generator) -> dict:
    """Every address: its station, geocoding type, Lambert-93 point, score, weight, emptiness."""
    s_comm, s_family, s_u = streets["s_comm"], streets["s_family"], streets["s_u"]
    road_angle, comm_st, r, safe, theta, centres = roads["road_angle"], d.comm_st, d.r, d.safe, d.theta, d.centres
    b_comm, b_street, b_num, b_u, b_v = built["comm"], built["street"], built["num"], built["u"], built["v"]
    rc, road, r_num, r_u, r_v = rural["comm"], rural["road"], rural["num"], rural["u"], rural["v"]
    n_total_streets = s_comm.size
    p_comm = np.concatenate([b_comm, rc])
    p_street = np.concatenate([b_street, n_total_streets + road])
    p_num = np.concatenate([b_num, r_num])
    pu = np.concatenate([b_u, r_u])
    pv = np.concatenate([b_v, r_v])
    station = assign_stations(p_comm, pu, pv, comm_st, rng)

    # Geocoding types and their coordinates (grid axes).
    n = p_comm.size
    gtype = rng.choice(len(GEO_TYPES), size=n, p=GEO_TYPE_P)
    is_road = p_street >= n_total_streets
    st_ = np.minimum(p_street, n_total_streets - 1)
    s_mid_u = np.where(s_family[st_] == 0, s_u[st_], 0.0)
    s_mid_v = np.where(s_family[st_] == 0, 0.0, s_u[st_])
    street_rows = gtype == 1
    road_idx = np.where(is_road, p_street - n_total_streets, 0)
    road_mid = (r + safe)[p_comm] / 2
    ru = road_mid * np.cos(road_angle[road_idx] - theta[p_comm])
    rv = road_mid * np.sin(road_angle[road_idx] - theta[p_comm])
    pu = np.where(street_rows, np.where(is_road, ru, s_mid_u), pu)
    pv = np.where(street_rows, np.where(is_road, rv, s_mid_v), pv)
    jit = gtype == 2
    pu = pu + jit * rng.uniform(-8, 8, n)
    pv = pv + jit * rng.uniform(-8, 8, n)
    loc = gtype == 3
    pu = pu + loc * rng.uniform(-30, 30, n)
    pv = pv + loc * rng.uniform(-30, 30, n)
    mun = gtype == 4
    pu = np.where(mun, 0.0, pu)
    pv = np.where(mun, 0.0, pv)
    # Keep every point in the commune's safe disc (its Voronoi cell contains that disc).
    dist = np.hypot(pu, pv)
    scale = np.minimum(1.0, safe[p_comm] / np.maximum(dist, 1e-9))
    pu, pv = pu * scale, pv * scale
    ct, sn = np.cos(theta[p_comm]), np.sin(theta[p_comm])
    x = centres[p_comm, 0] + pu * ct - pv * sn
    y = centres[p_comm, 1] + pu * sn + pv * ct

    lo, hi = np.array(GEO_SCORE).T
    score = np.round(lo[gtype] + (hi - lo)[gtype] * rng.beta(4, 1.5, n), 4)
    weight = np.where(rng.random(n) < 0.92, 1, np.minimum(2 + rng.geometric(0.4, n) - 1, 20))
    empty = rng.random(n) < EMPTY_FRACTION

    return {"comm": p_comm, "street": p_street, "num": p_num, "station": station, "gtype": gtype, "score": score,
            "weight": weight, "x": x, "y": y, "empty": empty, "is_road": is_road, "n_total_streets": n_total_streets}


def _columns(d: SimpleNamespace, streets: dict, roads: dict, points: dict, rng: np.random.Generator) -> dict:
    """The address columns sorted by commune code, station, street and number, with the street labels."""
    c, codes, names, number, comm_st = d.c, d.codes, d.names, d.number, d.comm_st
    s_comm, n_streets = streets["s_comm"], streets["n_streets"]
    n_roads, road_base = roads["n_roads"], roads["road_base"]
    p_comm, p_street, p_num, station = points["comm"], points["street"], points["num"], points["station"]
    gtype, score, weight, x, y = points["gtype"], points["score"], points["weight"], points["x"], points["y"]
    empty, is_road, n_total_streets = points["empty"], points["is_road"], points["n_total_streets"]
    # Sort rows: commune code, station, street, number.
    order = np.lexsort((p_num, p_street, station, number[p_comm]))
    cols = {
        "commune": p_comm[order], "station": station[order], "street": p_street[order],
        "num": p_num[order], "gtype": gtype[order], "score": score[order], "weight": weight[order],
        "x": x[order], "y": y[order], "empty": empty[order], "is_road": is_road[order],
    }
    # Street labels: distinct names within a commune (coprime step through type × name).
    m = len(STREET_TYPES) * len(STREET_NAMES)
    name_off = rng.integers(0, m, c)
    s_rank = np.arange(n_total_streets) - _group_starts(n_streets)[s_comm]
    combo = (name_off[s_comm] + 37 * s_rank) % m
    label_place = [f"{codes[k]} {names[k]}" for k in range(c)]
    street_labels = [f"{STREET_TYPES[q % len(STREET_TYPES)]} {STREET_NAMES[q // len(STREET_TYPES)]} {label_place[k]}"
                     for q, k in zip(combo.tolist(), s_comm.tolist())]
    road_comm = np.repeat(np.arange(c), n_roads)
    road_rank = np.arange(road_comm.size) - road_base[road_comm]
    road_labels = [f"{ROAD_NAMES[(k + q) % len(ROAD_NAMES)]} {label_place[k]}"
                   for k, q in zip(road_comm.tolist(), road_rank.tolist())]
    cols["labels"] = street_labels + road_labels
    cols["place"] = label_place
    cols["code"] = codes
    cols["n_stations"] = comm_st
    return cols


def to_arrow(cols: dict, first_id: int, transformer):
    """The REU table of one département as a pyarrow Table."""
    import pyarrow as pa
    import pyarrow.compute as pc

    n = cols["commune"].size
    code = cols["code"][cols["commune"]]
    code_arr = pa.array(code, pa.string())
    station_arr = pc.binary_join_element_wise(code_arr, pa.array(cols["station"]).cast(pa.string()), "_")
    labels = pa.array(cols["labels"], pa.string())
    street_label = labels.take(pa.array(cols["street"]))
    with_number = pc.binary_join_element_wise(pa.array(cols["num"]).cast(pa.string()), street_label, " ")
    gtype = cols["gtype"]
    place = pa.array(cols["place"], pa.string()).take(pa.array(cols["commune"]))
    # housenumber/interpolation: "12 Rue … 01001 Nom"; street and locality: the street;
    # municipality: the place.
    address = pc.if_else(pa.array(np.isin(gtype, (0, 2))), with_number,
                         pc.if_else(pa.array(gtype == 4), place, street_label))
    empty = cols["empty"]
    lon, lat = transformer.transform(cols["x"], cols["y"])
    lon = np.round(lon, 7)
    lat = np.round(lat, 7)
    type_arr = pa.array(np.array(GEO_TYPES, dtype=object)[gtype], pa.string())
    api = np.where(gtype == 0, "1", np.where(gtype == 4, "3", "2")).astype(object)
    null_str = pa.nulls(n, pa.string())
    empty_pa = pa.array(empty)
    table = pa.table({
        "code_commune_ref": code_arr,
        "reconstitution_code_commune": null_str,
        "id_brut_bv_reu": station_arr,
        "id": pa.array(np.arange(first_id, first_id + n, dtype=np.int64)),
        "geo_adresse": pc.if_else(empty_pa, null_str, address),
        "geo_type": pc.if_else(empty_pa, null_str, type_arr),
        "geo_score": pa.array(cols["score"], pa.float64(), mask=empty),
        "longitude": pa.array(lon, pa.float64(), mask=empty),
        "latitude": pa.array(lat, pa.float64(), mask=empty),
        "api_line": pa.array(api, pa.string()),
        "nb_bv_commune": pa.array(cols["n_stations"][cols["commune"]].astype(np.int64)),
        "nb_adresses": pa.array(cols["weight"].astype(np.int64)),
    })
    return table


def reu_schema():
    import pyarrow as pa

    return pa.schema([(name, getattr(pa, kind)()) for name, kind in SCHEMA_FIELDS])


def _parquet_writer(path: Path, schema):
    """The Parquet writer every layout uses (zstd, dictionaries, statistics for row-group skipping)."""
    import pyarrow.parquet as pq

    plain = ["id", "longitude", "latitude"]
    return pq.ParquetWriter(
        path, schema, compression="zstd", write_statistics=True,
        use_dictionary=[name for name, _ in SCHEMA_FIELDS if name not in plain],
        column_encoding={"id": "DELTA_BINARY_PACKED",
                         "longitude": "BYTE_STREAM_SPLIT", "latitude": "BYTE_STREAM_SPLIT"})


class _CsvGz:
    """A gzipped CSV written table by table: gzip level 1 (the writing costs less than the
    generation), no file name and a zero time stamp in its header (reproducible bytes)."""

    def __init__(self, path: Path, schema):
        import gzip

        import pyarrow as pa
        import pyarrow.csv as pacsv

        self.raw = open(path, "wb")
        self.gz = gzip.GzipFile(filename="", mode="wb", fileobj=self.raw, compresslevel=1, mtime=0)
        self.sink = pa.PythonFile(self.gz, mode="w")
        self.writer = pacsv.CSVWriter(self.sink, schema)

    def write(self, table) -> None:
        self.writer.write_table(table)

    def close(self) -> None:
        self.writer.close()
        self.sink.close()  # closes the GzipFile (its trailer), not the file under it
        self.raw.close()


def _departements(rows: int, departements: int, seed: int, progress: bool, t0: float):
    """The départements in code order: ``(code, communes, address table)``, generated one at a time."""
    from pyproj import Transformer

    root = np.random.SeedSequence([seed, rows, departements])
    plan_seq, *dep_seqs = root.spawn(1 + departements)
    codes, dep_rows, dep_communes = plan(rows, departements, np.random.default_rng(plan_seq))
    transformer = Transformer.from_crs("EPSG:2154", "EPSG:4326", always_xy=True)
    origins = layout(dep_communes)
    first_id = 1
    for d, code in enumerate(codes):
        communes, cols = make_departement(code, int(dep_rows[d]), int(dep_communes[d]), origins[d],
                                          np.random.default_rng(dep_seqs[d]))
        table = to_arrow(cols, first_id, transformer)
        first_id += table.num_rows
        if progress:
            print(f"{code}: {table.num_rows:,} rows, {communes['rows'].size} communes, "
                  f"{int(communes['stations'].sum())} stations ({time.perf_counter() - t0:.1f} s)",
                  file=sys.stderr)
        yield code, communes, table


def write_sorted(rows: int, departements: int, seed: int, parquet_path: Path, csv_path: Path | None,
                 progress: bool, t0: float) -> tuple[list, dict]:
    """The table sorted by commune, one row group per département (and its CSV.gz in the same order).

    Returns the communes of each département and the city with the most stations.
    """
    schema = reu_schema()
    writer = _parquet_writer(parquet_path, schema)
    csv_writer = _CsvGz(csv_path, schema) if csv_path is not None else None
    parts, big = [], {"stations": 0}
    for code, communes, table in _departements(rows, departements, seed, progress, t0):
        writer.write_table(table, row_group_size=ROW_GROUP_ROWS)
        if csv_writer is not None:
            csv_writer.write(table)
        parts.append(communes)
        top = int(np.argmax(communes["stations"]))
        if communes["stations"][top] > big["stations"]:
            big = {"code": str(communes["code"][top]), "nom": str(communes["nom"][top]),
                   "stations": int(communes["stations"][top]), "rows": int(communes["rows"][top])}
    writer.close()
    if csv_writer is not None:
        csv_writer.close()
    return parts, big


def shuffle_table(source: Path, parquet_path: Path | None, csv_path: Path | None, seed: int,
                  row_group_rows: int = MIXED_ROW_GROUP_ROWS) -> int:
    """Write the rows of ``source`` in a seeded random order: a Parquet table of fixed-size row
    groups (each spanning all départements) and/or a CSV.gz, without holding the table in memory.

    A random permutation gives each row its output position; a first pass scatters each row
    group of ``source`` into one temporary Arrow file per output row group (with the rows'
    positions), a second pass reads each of those, puts its rows in position order and writes
    it out. At most one row group of ``source`` and one output row group are in memory.

    Returns the number of output row groups.
    """
    import pyarrow as pa
    import pyarrow.parquet as pq

    pf = pq.ParquetFile(source)
    n = pf.metadata.num_rows
    rng = np.random.default_rng(np.random.SeedSequence([seed, n, 1]))  # a stream of its own
    pos = np.empty(n, np.int64)
    pos[rng.permutation(n)] = np.arange(n)  # input row i goes to output position pos[i]
    groups = max(1, -(-n // row_group_rows))
    tmp = Path(tempfile.mkdtemp(prefix=".shuffle-", dir=Path(parquet_path or csv_path).parent))
    try:
        options = pa.ipc.IpcWriteOptions(compression="lz4")
        schema = pf.schema_arrow.append(pa.field("_pos", pa.int64()))
        paths = [tmp / f"{g}.arrow" for g in range(groups)]
        writers = [pa.ipc.new_file(p, schema, options=options) for p in paths]
        start = 0
        for i in range(pf.num_row_groups):
            table = pf.read_row_group(i)
            p = pos[start:start + table.num_rows]
            start += table.num_rows
            bucket = p // row_group_rows
            order = np.argsort(bucket, kind="stable")
            table = table.take(pa.array(order)).append_column("_pos", pa.array(p[order]))
            bounds = np.searchsorted(bucket[order], np.arange(groups + 1))
            for g in np.flatnonzero(np.diff(bounds)):
                writers[g].write_table(table.slice(bounds[g], bounds[g + 1] - bounds[g]))
        for w in writers:
            w.close()
        del pos
        _gather(paths, pf.schema_arrow, parquet_path, csv_path, row_group_rows)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return groups


def _gather(paths: list, schema, parquet_path: Path | None, csv_path: Path | None, row_group_rows: int) -> None:
    """The second pass of :func:`shuffle_table`: each temporary file in position order, written out."""
    import pyarrow as pa

    writer = _parquet_writer(parquet_path, schema) if parquet_path is not None else None
    csv_writer = _CsvGz(csv_path, schema) if csv_path is not None else None
    for path in paths:
        with pa.memory_map(str(path)) as source:
            table = pa.ipc.open_file(source).read_all()
        table = table.take(pa.array(np.argsort(table["_pos"].to_numpy()))).drop_columns(["_pos"])
        table = table.combine_chunks()
        if writer is not None:
            writer.write_table(table, row_group_size=row_group_rows)
        if csv_writer is not None:
            csv_writer.write(table)
        del table
        path.unlink()
    if writer is not None:
        writer.close()
    if csv_writer is not None:
        csv_writer.close()


def write_outlines(parts: list, folder: Path, outlines: str) -> Path:
    """The commune outlines of every département, by code, as GeoPackage (EPSG:2154) or RFC 7946 GeoJSON."""
    import geopandas as gpd
    import pandas as pd
    import pyogrio

    frames = []
    for communes in parts:
        order = np.argsort(communes["code"], kind="stable")
        frames.append(gpd.GeoDataFrame({"code": communes["code"][order], "nom": communes["nom"][order]},
                                       geometry=communes["geometry"][order], crs="EPSG:2154"))
    outlines_gdf = gpd.GeoDataFrame(pd.concat(frames, ignore_index=True), crs="EPSG:2154")
    if outlines == "gpkg":
        outline_path = folder / "communes.gpkg"
        outline_path.unlink(missing_ok=True)
        # OGR_CURRENT_DATE fixes the timestamp GDAL writes in gpkg_contents (reproducible bytes).
        with _gdal_config({"OGR_CURRENT_DATE": "2000-01-01T00:00:00.000Z"}):
            pyogrio.write_dataframe(outlines_gdf, outline_path, layer="communes", driver="GPKG",
                                    dataset_options={"VERSION": "1.2"})
    else:
        outline_path = folder / "communes.geojson"
        outline_path.unlink(missing_ok=True)
        pyogrio.write_dataframe(outlines_gdf, outline_path, driver="GeoJSON",
                                layer_options={"RFC7946": "YES"})
    return outline_path


def _check_options(layout: str, csv_order: str, outlines: str, row_group_rows: int) -> None:
    if layout not in LAYOUTS:
        raise ValueError(f"layout must be one of {', '.join(LAYOUTS)}, not {layout!r}")
    if csv_order not in ("sorted", "shuffled"):
        raise ValueError(f"csv_order must be 'sorted' or 'shuffled', not {csv_order!r}")
    if outlines not in ("gpkg", "geojson"):
        raise ValueError(f"outlines must be 'gpkg' or 'geojson', not {outlines!r}")
    if row_group_rows < 1:
        raise ValueError(f"row_group_rows must be ≥ 1, got {row_group_rows}")


def synth(rows: int, departements: int, seed: int = 0, folder: Path = Path("."), csv: bool = False,
          outlines: str = "gpkg", progress: bool = False, layout: str = "sorted", csv_order: str = "sorted",
          row_group_rows: int = MIXED_ROW_GROUP_ROWS) -> dict:
    """Write a seeded national-shape REU table and commune outlines into ``folder``.

    Parameters
    ----------
    rows : int
        Address rows in all (≈ 16 M for France).
    departements : int
        Number of départements, 1–96 (mainland codes, Corsica as the 95th and 96th).
    seed : int
        Seed of every random draw; same arguments → byte-identical files.
    folder : pathlib.Path
        Output folder (created).
    csv : bool
        Also write ``addresses.csv.gz``.
    outlines : {"gpkg", "geojson"}
        Format of the commune outlines (``communes.gpkg`` in EPSG:2154, or RFC 7946
        ``communes.geojson``).
    progress : bool
        One line on stderr per département.
    layout : {"sorted", "mixed", "both"}
        ``addresses.parquet`` sorted by commune, one row group per département
        (``sorted``), or its rows shuffled (seeded) into row groups of ``row_group_rows``
        rows that each span all départements (``mixed``); ``both`` writes the sorted
        ``addresses.parquet`` and the shuffled ``addresses.mixed.parquet``.
    csv_order : {"sorted", "shuffled"}
        The CSV's row order: the sorted table's, or the shuffled one (that of the mixed
        Parquet table, whatever ``layout``).
    row_group_rows : int
        Rows per row group of the shuffled Parquet table (the last one shorter).

    Returns
    -------
    dict
        Shape statistics and the paths written (also saved as ``summary.json``).
    """
    _check_options(layout, csv_order, outlines, row_group_rows)
    t0 = time.perf_counter()
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    parquet_path, csv_path, mixed_path = (folder / "addresses.parquet", folder / "addresses.csv.gz",
                                          folder / "addresses.mixed.parquet")
    for stale in (csv_path, mixed_path):  # no stale table beside a new one
        stale.unlink(missing_ok=True)
    shuffled_csv = csv and csv_order == "shuffled"
    # the sorted table is the source of the shuffled ones: kept unless only the mixed one is asked for
    sorted_path = folder / ".addresses.sorted.parquet" if layout == "mixed" else parquet_path
    parts, big = write_sorted(rows, departements, seed, sorted_path, csv_path if csv and not shuffled_csv else None,
                              progress, t0)
    groups = None
    if layout != "sorted" or shuffled_csv:
        target = {"sorted": None, "mixed": parquet_path, "both": mixed_path}[layout]
        groups = shuffle_table(sorted_path, target, csv_path if shuffled_csv else None, seed, row_group_rows)
        if layout == "mixed":
            sorted_path.unlink()
    t_rows = time.perf_counter() - t0
    outline_path = write_outlines(parts, folder, outlines)
    summary = _summary(parts, big, rows, departements, seed, layout, csv_order if csv else None,
                       groups if layout != "sorted" else None, row_group_rows)
    summary.update(seconds_rows=round(t_rows, 1), seconds_total=round(time.perf_counter() - t0, 1),
                   files={p.name: p.stat().st_size for p in (parquet_path, mixed_path, outline_path, csv_path)
                          if p.exists()})
    (folder / "summary.json").write_text(json.dumps({k: v for k, v in summary.items() if not k.startswith("seconds")},
                                                    indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    return summary


def _summary(parts: list, big: dict, rows: int, departements: int, seed: int, layout: str, csv_order,
             groups, row_group_rows: int) -> dict:
    """The shape statistics of the generated table."""
    r = np.concatenate([c["rows"] for c in parts])
    st = np.concatenate([c["stations"] for c in parts])
    out = {
        "rows": int(r.sum()), "departements": departements, "seed": seed,
        "communes": int(r.size), "stations": int(st.sum()),
        "communes_several_stations": int((st > 1).sum()),
        "share_single_station": round(float((st == 1).mean()), 4),
        "rows_per_station": round(float(r.sum() / st.sum()), 1),
        "communes_50_stations_or_more": int((st >= 50).sum()),
        "biggest_city": big,
    }
    if layout != "sorted" or csv_order is not None:
        out["layout"] = {"parquet": layout, "csv": csv_order}
        if groups is not None:
            out["layout"].update(mixed_row_groups=groups, mixed_row_group_rows=row_group_rows)
    return out


class _gdal_config:
    """Set GDAL config options for a block, then restore them."""

    def __init__(self, options: dict):
        self.options = options

    def __enter__(self):
        import pyogrio

        self.old = {k: pyogrio.get_gdal_config_option(k) for k in self.options}
        pyogrio.set_gdal_config_options(self.options)

    def __exit__(self, *exc):
        import pyogrio

        pyogrio.set_gdal_config_options(self.old)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.synth",
                                     description="Write a seeded national-shape REU table and commune outlines.")
    parser.add_argument("--rows", type=int, required=True, help="address rows in all (France: ~16,000,000)")
    parser.add_argument("--departements", type=int, required=True, help="1–96 (France: 96 mainland)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("-o", "--output", type=Path, required=True, help="output folder (keep it out of the repo)")
    parser.add_argument("--layout", choices=LAYOUTS, default="sorted",
                        help="addresses.parquet sorted, one row group per département (default); mixed: rows "
                             "shuffled into fixed-size row groups spanning all départements; both: the sorted "
                             "addresses.parquet and the shuffled addresses.mixed.parquet")
    parser.add_argument("--row-group-rows", type=int, default=MIXED_ROW_GROUP_ROWS, metavar="N",
                        help=f"rows per row group of the shuffled Parquet table (default {MIXED_ROW_GROUP_ROWS:,})")
    parser.add_argument("--csv", action="store_true", help="also write addresses.csv.gz")
    parser.add_argument("--csv-order", choices=["sorted", "shuffled"], default="sorted",
                        help="the CSV's rows in the sorted order (default) or shuffled (the mixed table's order)")
    parser.add_argument("--outlines", choices=["gpkg", "geojson"], default="gpkg")
    parser.add_argument("-q", "--quiet", action="store_true")
    args = parser.parse_args(argv)
    summary = synth(args.rows, args.departements, args.seed, args.output, csv=args.csv,
                    outlines=args.outlines, progress=not args.quiet, layout=args.layout,
                    csv_order=args.csv_order, row_group_rows=args.row_group_rows)
    print(json.dumps(summary, indent=2, ensure_ascii=False))


if __name__ == "__main__":
    main()
