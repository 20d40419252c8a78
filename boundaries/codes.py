"""French administrative codes: communes, départements, stations, territories.

Codes are strings everywhere: ``"04112"`` keeps its leading zero and Corsica's
communes are ``"2A004"``/``"2B033"``.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

import numpy as np
import pandas as pd

#: Paris, Lyon and Marseille: the REU uses arrondissement codes; outline files often
#: have only the whole city.
PLM_CITIES = {
    "75056": [f"751{i:02d}" for i in range(1, 21)],
    "69123": [f"6938{i}" for i in range(1, 10)],
    "13055": [f"132{i:02d}" for i in range(1, 17)],
}
ARRONDISSEMENT_CITY = {arr: city for city, arrs in PLM_CITIES.items() for arr in arrs}

#: Projected CRS (metres) of each territory, keyed by département code.
#: Mainland France and Corsica use Lambert-93.
OVERSEAS_CRS = {
    "971": "EPSG:5490",  # Guadeloupe: RGAF09 / UTM 20N
    "972": "EPSG:5490",  # Martinique: RGAF09 / UTM 20N
    "973": "EPSG:2972",  # Guyane: RGFG95 / UTM 22N
    "974": "EPSG:2975",  # La Réunion: RGR92 / UTM 40S
    "975": "EPSG:4467",  # Saint-Pierre-et-Miquelon: RGSPM06 / UTM 21N
    "976": "EPSG:4471",  # Mayotte: RGM04 / UTM 38S
    "977": "EPSG:5490",  # Saint-Barthélemy
    "978": "EPSG:5490",  # Saint-Martin
}
MAINLAND_CRS = "EPSG:2154"

_DEPARTEMENT_RE = re.compile(r"^(\d{2}|2[AB]|97\d)$")
_COMMUNE_RE = re.compile(r"^(\d{5}|2[AB]\d{3})$")


def departement_of(codes):
    """Département code of commune codes (``"94028"`` → ``"94"``, ``"97411"`` → ``"974"``).

    Parameters
    ----------
    codes : str or array-like of str

    Returns
    -------
    str or numpy.ndarray of str
    """
    if isinstance(codes, str):
        return codes[:3] if codes.startswith("97") else codes[:2]
    s = pd.Series(np.asarray(codes, dtype=object), dtype="string")
    overseas = s.str.startswith("97").fillna(False)
    out = s.str.slice(0, 2).where(~overseas, s.str.slice(0, 3))
    return out.to_numpy(dtype=object, na_value=None)


def is_departement_code(code: str) -> bool:
    """True for ``"01"``…``"95"``, ``"2A"``, ``"2B"`` and ``"971"``…``"978"``."""
    return bool(_DEPARTEMENT_RE.fullmatch(code))


def is_commune_code(code: str) -> bool:
    """True for a five-character INSEE commune code (``"04112"``, ``"2A004"``)."""
    return bool(_COMMUNE_RE.fullmatch(code))


def territory_crs(departement: str) -> str:
    """The projected (metric) CRS used for a département's geometry work."""
    return OVERSEAS_CRS.get(departement, MAINLAND_CRS)


def metric_crs(commune_codes) -> str:
    """The territory CRS most of these communes are in (Lambert-93 when none is known)."""
    deps = [departement_of(c) for c in commune_codes if isinstance(c, str) and c]
    if not deps:
        return MAINLAND_CRS
    return pd.Series([territory_crs(d) for d in deps]).value_counts().index[0]


def station_number(station_ids):
    """The station code after the last ``_`` (``"94028_12"`` → ``"12"``)."""
    s = pd.Series(np.asarray(station_ids, dtype=object), dtype="string")
    return s.str.rsplit("_", n=1).str[-1].to_numpy(dtype=object)


def code_bv(communes, numbers):
    """Election-results form ``{insee}_{0000}``: ``("94028", "12")`` → ``"94028_0012"``.

    A station code that is not a number is kept as it is (``"94028_A"``).
    """
    num = pd.Series(np.asarray(numbers, dtype=object), dtype="string")
    padded = num.where(~num.str.fullmatch(r"\d+").fillna(False), num.str.zfill(4))
    com = pd.Series(np.asarray(communes, dtype=object), dtype="string")
    return (com + "_" + padded).to_numpy(dtype=object)


def number_sort_key(numbers) -> np.ndarray:
    """Sort key putting numeric station codes in numeric order, others after them."""
    num = pd.Series(np.asarray(numbers, dtype=object), dtype="string")
    as_int = pd.to_numeric(num, errors="coerce")
    return np.where(as_int.isna(), np.inf, as_int.to_numpy(dtype=float, na_value=np.nan))


def canonical_station(station_ids):
    """One key per station whatever the form: ``94068_7`` and ``94068_0007`` → ``94068_7``.

    The part after the last ``_`` loses its leading zeros when it is a number.
    """
    s = pd.Series(np.asarray(station_ids, dtype=object), dtype="string").str.strip()
    split = s.str.rsplit("_", n=1)
    head = split.str[0]
    num = split.str[-1]
    numeric = num.str.fullmatch(r"\d+").fillna(False).astype(bool)
    stripped = num.str.lstrip("0")
    stripped = stripped.where((stripped != "").fillna(True).astype(bool), "0")
    num = num.where(~numeric, stripped)
    has_sep = s.str.contains("_", regex=False).fillna(False).astype(bool)
    out = (head + "_" + num).where(has_sep, s)
    return out.to_numpy(dtype=object, na_value=None)


#: The city code of each of Paris, Lyon and Marseille (``PLM_CITIES``) in a results id: the Ministry
#: writes a station of an arrondissement as the city's code and a code whose hundreds are the
#: arrondissement's number (``75056_101``, ``75056_0101``: 1st arrondissement, station 1; ``13055_1620``:
#: 16th, station 20), where the REU writes the arrondissement's code (``75101_1``, ``13216_20``).
_PLM_CITY_ID = re.compile(r"^(" + "|".join(PLM_CITIES) + r")_0*(\d{3,4})$")


def arrondissement_station(station_ids):
    """Paris, Lyon and Marseille ids in the Ministry's city form as the REU writes them; others unchanged.

    ``75056_101`` (or ``75056_0101``) → ``75101_1``; ``69123_915`` → ``69389_15``;
    ``13055_1620`` → ``13216_20``: the station code's hundreds name the arrondissement
    (1–20 in Paris, 1–9 in Lyon, 1–16 in Marseille, :data:`PLM_CITIES`), its last two
    digits the station (from 1). A code that does not fit (``75056_2101``, ``75056_100``,
    ``75056_7``) is kept as it is: it names no arrondissement.
    """
    s = pd.Series(np.asarray(station_ids, dtype=object), dtype="string")
    parts = s.str.extract(_PLM_CITY_ID)
    city = parts[0].to_numpy(dtype=object, na_value=None)
    number = pd.to_numeric(parts[1], errors="coerce").astype("float64").to_numpy(na_value=np.nan)
    arr, station = number // 100, number % 100
    size = np.array([len(PLM_CITIES.get(c) or ()) for c in city], dtype=float)
    ok = (arr >= 1) & (arr <= size) & (station >= 1)
    out = s.to_numpy(dtype=object, na_value=None)
    out[ok] = [f"{PLM_CITIES[c][int(a) - 1]}_{int(n)}" for c, a, n in zip(city[ok], arr[ok], station[ok])]
    return out


def results_key(station_ids):
    """The key a results join matches on: :func:`canonical_station`, then :func:`arrondissement_station`.

    ``94068_0007`` and ``94068_7`` are one station, and so are ``75056_0101``, ``75056_101``
    and ``75101_1``.
    """
    return arrondissement_station(canonical_station(station_ids))


def commune_of_station(station_ids):
    """The commune code that starts a REU station id (``"94068_7"`` → ``"94068"``), else None."""
    s = pd.Series(np.asarray(station_ids, dtype=object), dtype="string")
    return s.str.extract(r"^(\d{5}|2[AB]\d{3})_", expand=False).to_numpy(dtype=object, na_value=None)


#: Longitude/latitude boxes (min lon, min lat, max lon, max lat) of France: the mainland and
#: Corsica, then the overseas départements and collectivities with polling stations, each
#: widened by a little; used to tell coordinates that cannot be French (swapped, wrong CRS).
FRANCE_EXTENTS = (
    (-5.8, 41.0, 10.0, 51.5),  # mainland and Corsica
    (-62.0, 15.7, -60.8, 16.7),  # Guadeloupe
    (-61.4, 14.2, -60.6, 15.0),  # Martinique
    (-54.8, 1.9, -51.4, 6.0),  # Guyane
    (54.9, -21.6, 56.1, -20.7),  # La Réunion
    (-56.6, 46.6, -55.9, 47.3),  # Saint-Pierre-et-Miquelon
    (44.8, -13.2, 45.5, -12.4),  # Mayotte
    (-63.3, 17.7, -62.6, 18.3),  # Saint-Barthélemy, Saint-Martin
)


def in_france(lon, lat) -> np.ndarray:
    """True where a longitude/latitude (degrees) falls in one of :data:`FRANCE_EXTENTS`."""
    lon, lat = np.asarray(lon, dtype=float), np.asarray(lat, dtype=float)
    inside = np.zeros(lon.shape, dtype=bool)
    for x0, y0, x1, y1 in FRANCE_EXTENTS:
        inside |= (lon >= x0) & (lon <= x1) & (lat >= y0) & (lat <= y1)
    return inside


#: A commune code that lost its leading zero (a table opened in a spreadsheet): 4112 for 04112.
_LOST_ZERO = {False: r"\d{4}", True: r"\d{4}_.*"}


def repair_lost_zero(values: pd.Series, station: bool = False) -> tuple[pd.Series, np.ndarray]:
    """Left-pad four-digit commune codes to five (``4112`` → ``04112``), or with ``station``
    station ids that start with one (``4112_1`` → ``04112_1``).

    Returns the repaired strings and a mask of the values changed. No INSEE commune code
    has four characters, so the repair is unambiguous.
    """
    s = values.astype("string")
    lost = s.str.fullmatch(_LOST_ZERO[station]).fillna(False).astype(bool).to_numpy()
    if not lost.any():
        return values, lost
    return s.where(~lost, "0" + s), lost


@dataclass
class StationIds:
    """What :func:`qualify_stations` did to a table's station ids.

    Attributes
    ----------
    station : pandas.Series
        The station ids, qualified and merged.
    qualified : numpy.ndarray of bool
        Rows whose bare id was prefixed by its commune (``1`` in 29046 → ``29046_1``).
    merged : numpy.ndarray of bool
        Rows whose id was one station of its commune written another way
        (``29046_01`` where ``29046_1`` came first): given that first form.
    problem : numpy.ndarray of object
        Per row, why its id cannot name a station of its commune, else None:
        ``no_station_id`` (empty, or ``29046_`` with no station code) or
        ``station_of_other_commune`` (``29046_1`` on a row of commune 29047).
    """

    station: pd.Series
    qualified: np.ndarray
    merged: np.ndarray
    problem: np.ndarray


def qualify_stations(station: pd.Series, commune: pd.Series) -> StationIds:
    """Station ids that name their commune, one form per station of a commune.

    A bare station code (``1``, ``A``: neither its commune's code nor another's before a ``_``; a Parquet integer
    column gives ``1``, ``2``… in every commune) becomes ``{commune}_{code}``, so that
    two communes' stations never share an id. Ids of one commune equal once
    canonical (``29046_1``, ``29046_01``, ``29046_0001``: :func:`canonical_station`)
    are one station, named as it first appears. Rows without a commune or a
    station keep theirs. The work is done on the distinct (station, commune) pairs.
    """
    s_code, _ = pd.factorize(station, use_na_sentinel=True)
    c_code, c_names = pd.factorize(commune, use_na_sentinel=True)
    pairs = s_code.astype(np.int64) * (len(c_names) + 1) + (c_code + 1)
    _, first, row_pair = np.unique(pairs, return_index=True, return_inverse=True)
    order = np.argsort(first, kind="stable")  # the pairs in order of first appearance
    rank = np.empty(len(first), dtype=np.int64)
    rank[order] = np.arange(len(first))
    u_station = pd.Series(np.asarray(station.iloc[first[order]], dtype=object), dtype="string").reset_index(drop=True)
    u_commune = pd.Series(np.asarray(commune.iloc[first[order]], dtype=object), dtype="string").reset_index(drop=True)
    known = (u_station.notna() & u_commune.notna()).to_numpy()
    head = u_station.str.split("_", n=1).str[0]
    own = ((head == u_commune) & u_station.str.contains("_", regex=False)).fillna(False).to_numpy(dtype=bool)
    bare = known & ~own & pd.isna(pd.Series(commune_of_station(u_station.to_numpy(dtype=object, na_value=None)),
                                            dtype=object)).to_numpy()
    named = u_station.where(~bare, u_commune + "_" + u_station)
    problem = _id_problems(named, u_commune, bare)
    canon = pd.Series(canonical_station(named.to_numpy(dtype=object, na_value=None)), dtype="string")
    group = (u_commune.fillna("\x00") + "\x1f" + canon.fillna("\x00")).to_numpy(dtype=object)
    first_form = named.groupby(group, sort=False).transform("first")
    merged = known & (first_form != named).fillna(False).to_numpy(dtype=bool)
    final = named.where(~merged, first_form)
    per_row = rank[row_pair.ravel()]
    q_rows, m_rows = bare[per_row], merged[per_row]
    if not (q_rows.any() or m_rows.any()):
        return StationIds(station, q_rows, m_rows, problem[per_row])
    out = pd.Series(final.to_numpy(dtype=object, na_value=None)[per_row], index=station.index, dtype="string")
    return StationIds(out, q_rows, m_rows, problem[per_row])


def _id_problems(named: pd.Series, commune: pd.Series, bare: np.ndarray) -> np.ndarray:
    """Per distinct id (:func:`qualify_stations`): ``no_station_id``, ``station_of_other_commune`` or None."""
    problem = np.full(len(named), None, dtype=object)
    prefix = pd.Series(commune_of_station(named.to_numpy(dtype=object, na_value=None)), dtype="string")
    other = (commune.notna() & prefix.notna() & (prefix != commune)).fillna(False).to_numpy(dtype=bool)
    problem[other & ~bare] = "station_of_other_commune"
    empty = (named.isna() | named.str.endswith("_")).fillna(True).to_numpy(dtype=bool)
    problem[empty] = "no_station_id"
    return problem
