"""Sub-district (街道) boundaries: from files in any CRS, from OSM relations, and the registry.

Every function returns boundaries in one schema, a GeoDataFrame in EPSG:4326 with columns

``name``
    The boundary's name (e.g. 石泉路街道, 普陀区).
``code``
    Statistical code (统计用区划代码) as text, or ``None``.
``osm_relation``
    OpenStreetMap relation id (nullable integer).
``area_km2``
    Area in km², computed in the metric CRS (EPSG:32651 in Shanghai).
``src_file``, ``src_row``
    Where the row came from (1-based feature number in the file).

Files (GeoJSON, GeoPackage, Shapefile) may use any CRS, EPSG:4490 (CGCS2000) included. Invalid
polygons are repaired with :func:`shapely.make_valid` (only polygonal parts are kept) and the
repair is noted in the :class:`~lifecircle.geo.report.LoadReport`; rows without usable geometry are
rejected with a reason. Codes and OSM relations missing from a file are filled from
``data/boundaries/streets.yaml`` (:func:`street_registry`) when the name or the code is known there.
"""

from __future__ import annotations

import math
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from ..settings import PACKAGE_DATA, WGS84
from .crs import metric_crs_for
from .report import LoadReport

__all__ = [
    "BOUNDARY_COLUMNS",
    "REGISTRY_PATH",
    "boundary_for",
    "boundary_from_osm",
    "district_info",
    "load_boundaries",
    "registry_entry",
    "street_registry",
]

#: Columns of every boundaries GeoDataFrame (plus ``geometry``).
BOUNDARY_COLUMNS = ["name", "code", "osm_relation", "area_km2", "src_file", "src_row"]

#: The register of known sub-districts.
REGISTRY_PATH = PACKAGE_DATA / "boundaries" / "streets.yaml"

#: Columns tried, in order, when no name column is given.
NAME_COLUMNS = (
    "name",
    "名称",
    "街道",
    "街道名称",
    "街镇",
    "街镇名称",
    "乡镇",
    "乡镇名称",
    "乡镇街道",
    "镇街名称",
    "县名",
    "区名",
    "区县名称",
    "区县",
    "NAME",
    "Name",
    "XZQMC",
    "JDMC",
    "name_zh",
    "name:zh",
)
#: Columns tried, in order, when no code column is given.
CODE_COLUMNS = (
    "code",
    "代码",
    "街道代码",
    "街镇代码",
    "乡镇代码",
    "区划代码",
    "县代码",
    "区县代码",
    "区代码",
    "adcode",
    "CODE",
    "XZQDM",
    "JDDM",
)
#: Columns read as the OSM relation id when present.
RELATION_COLUMNS = ("osm_relation", "osm_relation_id", "relation", "relation_id", "osm_id")

_POLYGONAL = ("Polygon", "MultiPolygon")


# ---------------------------------------------------------------------------- registry
def _read_registry(path: Path | None = None) -> dict:
    import yaml

    path = Path(path) if path is not None else REGISTRY_PATH
    try:
        with open(path, encoding="utf-8") as fh:
            data = yaml.safe_load(fh) or {}
    except FileNotFoundError:
        raise FileNotFoundError(f"{path}: street registry not found") from None
    except yaml.YAMLError as exc:
        raise ValueError(f"{path}: not valid YAML ({exc})") from exc
    if not isinstance(data.get("streets"), list):
        raise ValueError(f"{path}: expected a 'streets' list")
    return data


def street_registry(path: str | Path | None = None) -> pd.DataFrame:
    """The known sub-districts from ``data/boundaries/streets.yaml``.

    Parameters
    ----------
    path : path-like, optional
        Another registry file with the same layout.

    Returns
    -------
    pandas.DataFrame
        One row per street: ``name``, ``osm_relation`` (Int64), ``code`` (str or None),
        ``verified``, ``area_km2``, ``population``, ``population_year``, ``share60`` (0–1),
        ``share60_basis``, ``plan``, ``plan_facts`` (dict), ``district``, ``district_code``.
        Figures a plan does not state are missing (NaN/None).
    """
    data = _read_registry(path)
    district = data.get("district") or {}
    rows = []
    for i, entry in enumerate(data["streets"], start=1):
        if not isinstance(entry, dict) or not entry.get("name"):
            raise ValueError(f"{path or REGISTRY_PATH}: street #{i} has no name")
        rows.append(
            {
                "name": str(entry["name"]),
                "osm_relation": entry.get("osm_relation"),
                "code": None if entry.get("code") is None else str(entry["code"]),
                "verified": bool(entry.get("verified", False)),
                "area_km2": entry.get("area_km2"),
                "population": entry.get("population"),
                "population_year": entry.get("population_year"),
                "share60": entry.get("share60"),
                "share60_basis": entry.get("share60_basis"),
                "plan": entry.get("plan"),
                "plan_facts": entry.get("plan_facts") or {},
                "district": entry.get("district", district.get("name")),
                "district_code": str(entry.get("district_code", district.get("code")) or "")
                or None,
            }
        )
    df = pd.DataFrame(rows)
    for col in ("code", "district_code", "share60_basis", "plan"):
        df[col] = pd.Series([r[col] for r in rows], index=df.index, dtype=object)
    df["osm_relation"] = df["osm_relation"].astype("Int64")
    for col in ("area_km2", "population", "share60"):
        df[col] = pd.to_numeric(df[col]).astype(float)
    df["population_year"] = df["population_year"].astype("Int64")
    return df


def district_info(path: str | Path | None = None) -> dict:
    """The registry's district entry, e.g. ``{"name": "普陀区", "code": "310107"}``."""
    district = dict(_read_registry(path).get("district") or {})
    if district.get("code") is not None:
        district["code"] = str(district["code"])
    return district


def _bare(name: str) -> str:
    """Name without the 街道 suffix, for lenient matching (石泉路 ~ 石泉路街道)."""
    name = str(name).strip()
    return name[:-2] if name.endswith("街道") else name


def registry_entry(name_or_relation, registry: pd.DataFrame | None = None) -> dict | None:
    """The registry row of a street given its name, statistical code or OSM relation id.

    Names match with or without the 街道 suffix; relation ids may be written ``"R14187869"``.
    Returns ``None`` when the registry does not know the street.
    """
    reg = street_registry() if registry is None else registry
    text = str(name_or_relation).strip()
    mask = (reg["name"] == text) | (reg["code"] == text).fillna(False)
    rel = _relation_or_none(name_or_relation)
    if rel is not None:
        mask |= (reg["osm_relation"] == rel).fillna(False)
    if not mask.any():
        mask = reg["name"].map(_bare) == _bare(text)
    hit = reg[mask.to_numpy(dtype=bool)]
    if hit.empty:
        return None
    return hit.iloc[0].to_dict()


def _looks_like_code(text: str) -> bool:
    """Statistical codes have 6 (district), 9 (街道) or 12 digits."""
    return text.isdigit() and len(text) in (6, 9, 12)


def _relation_or_none(value) -> int | None:
    """An OSM relation id from ``14187869``, ``"14187869"`` or ``"R14187869"``, else None."""
    if isinstance(value, bool):
        return None
    if isinstance(value, int | np.integer):
        return int(value) if value > 0 else None
    text = str(value).strip()
    if text[:1] in ("R", "r"):
        text = text[1:]
    return int(text) if text.isdigit() and int(text) > 0 else None


def _relation_id(value) -> int:
    rel = _relation_or_none(value)
    if rel is None:
        raise ValueError(f"not an OSM relation id: {value!r} (use e.g. 14187869 or 'R14187869')")
    return rel


# ---------------------------------------------------------------------------- files
_WHAT_ZH = {"name": "名称", "code": "代码", "relation": "OSM 关系"}


def _pick_column(columns, wanted: str | None, candidates, path: Path, what: str) -> str | None:
    if wanted is not None:
        if wanted not in columns:
            raise ValueError(
                f"{path}: 没有{_WHAT_ZH.get(what, what)}列 (no {what} column) {wanted!r}; "
                f"文件中的列: {list(columns)}"
            )
        return wanted
    for cand in candidates:
        if cand in columns:
            return cand
    return None


def _code_text(value) -> str | None:
    """Statistical codes as text: 310107.0 → '310107'."""
    if value is None:
        return None
    if isinstance(value, float | np.floating):
        if math.isnan(value):
            return None
        return str(int(value)) if float(value).is_integer() else str(value)
    if isinstance(value, int | np.integer):
        return str(int(value))
    text = str(value).strip()
    if text.endswith(".0") and text[:-2].isdigit():
        text = text[:-2]
    return text or None


def _blank(value) -> bool:
    return (
        value is None
        or (isinstance(value, float) and math.isnan(value))
        or (isinstance(value, str) and not value.strip())
        or value is pd.NA
    )


def _object_column(values: pd.Series) -> pd.Series:
    """Text column with ``None`` (not NaN) for missing values."""
    return pd.Series([None if _blank(v) else v for v in values], index=values.index, dtype=object)


def _polygonal_part(geom):
    """Polygonal parts of a geometry (``None`` if there are none)."""
    if geom.geom_type in _POLYGONAL:
        return geom
    if geom.geom_type == "GeometryCollection":
        parts = [g for g in shapely.get_parts(geom) if g.geom_type in _POLYGONAL]
        if parts:
            return shapely.union_all(parts)
    return None


def _choose_layer(path: Path, layer, report: LoadReport):
    if layer is not None:
        return layer
    import pyogrio

    try:
        layers = pyogrio.list_layers(path)
    except Exception:  # noqa: BLE001 - unreadable files are reported by read_file below
        return None
    if len(layers) <= 1:
        return None
    polygonal = [name for name, gtype in layers if gtype and "polygon" in str(gtype).lower()]
    chosen = polygonal[0] if polygonal else layers[0][0]
    report.note(
        f"the file has {len(layers)} layers ({', '.join(layers[:, 0])}); read {chosen!r} "
        "(choose another with layer=)"
    )
    return chosen


def _area_km2(geom, crs) -> float:
    """Area of one geometry in km², measured in its local metric CRS."""
    gs = gpd.GeoSeries([geom], crs=crs or WGS84)
    return float(gs.to_crs(metric_crs_for(gs.to_crs(WGS84))).area.iloc[0]) / 1e6


def _warn_degrees_in_metres(gdf: gpd.GeoDataFrame, report: LoadReport) -> None:
    """Warn when a projected CRS (metres) is declared but the values are lon/lat degrees."""
    crs = gdf.crs
    if crs is None or not crs.is_projected or not len(gdf):
        return
    minx, miny, maxx, maxy = gdf.total_bounds
    if -180 <= minx <= maxx <= 180 and -90 <= miny <= maxy <= 90:
        report.warn(
            None,
            "crs",
            f"文件声明的坐标系是 {crs.to_string()} ({crs.name}, 单位米), 但坐标值像经纬度 "
            f"({minx:.4f}, {miny:.4f} … {maxx:.4f}, {maxy:.4f}): 边界会缩成不到 1 平方米; "
            "请改正文件的坐标系声明 (declared projected CRS holds lon/lat degrees)",
        )


def _read_boundary_file(path: Path, layer: str | None, report: LoadReport) -> gpd.GeoDataFrame:
    """The file's features; a file without CRS read as WGS84 when its coordinates fit."""
    layer = _choose_layer(path, layer, report)
    try:
        gdf = gpd.read_file(path, layer=layer)
    except Exception as exc:  # noqa: BLE001 - pyogrio raises many kinds; name the file
        raise ValueError(f"{path}: cannot read boundaries ({exc})") from exc
    if not isinstance(gdf, gpd.GeoDataFrame) or "geometry" not in gdf:
        raise ValueError(f"{path}: no geometry column")
    report.n_input = len(gdf)
    if gdf.crs is None:
        minx, miny, maxx, maxy = gdf.total_bounds if len(gdf) else (0, 0, 0, 0)
        if -180 <= minx <= maxx <= 180 and -90 <= miny <= maxy <= 90:
            gdf = gdf.set_crs(WGS84)
            report.note(
                "the file declares no CRS; its coordinates look like lon/lat: read as "
                "WGS84 (EPSG:4326)"
            )
        else:
            raise ValueError(
                f"{path}: the file declares no CRS and its coordinates are not "
                "lon/lat (a Shapefile missing its .prj?)"
            )
    return gdf


def _usable_geometry(geom, rownum: int, name: str, src_crs, report: LoadReport):
    """A row's polygonal geometry (invalid ones repaired and warned about), or None when the
    row is rejected (empty, non-finite, not a polygon, nothing left after repair)."""
    if geom is None or shapely.is_missing(geom) or geom.is_empty:
        report.reject(rownum, "geometry", "empty or missing geometry")
        return None
    if not np.isfinite(shapely.get_coordinates(geom)).all():
        report.reject(rownum, "geometry", "坐标含无效数值 (NaN 或无穷大; non-finite coordinates)")
        return None
    if not geom.is_valid:
        reason = shapely.is_valid_reason(geom)
        fixed = _polygonal_part(shapely.make_valid(geom))
        if fixed is None or fixed.is_empty:
            report.reject(
                rownum, "geometry", f"invalid geometry ({reason}) with no area left after repair"
            )
            return None
        report.warn(
            rownum,
            "geometry",
            f"边界 {name} 的几何无效, 已用 make_valid 修复并保留其面状部分, "
            f"修复后面积 {_area_km2(fixed, src_crs):.3f} km²: 请核对边界文件 "
            f"(row {rownum} ({name}): invalid geometry ({reason}) repaired with make_valid)",
        )
        return fixed
    part = _polygonal_part(geom)
    if part is None:
        report.reject(rownum, "geometry", f"not a polygon ({geom.geom_type})", geom.geom_type)
        return None
    if part is not geom:
        report.note(f"row {rownum} ({name}): non-polygonal parts of a GeometryCollection dropped")
    return part


def load_boundaries(
    path: str | Path,
    name_col: str | None = None,
    layer: str | None = None,
    code_col: str | None = None,
    registry: pd.DataFrame | None = None,
) -> tuple[gpd.GeoDataFrame, LoadReport]:
    """Load boundary polygons from a GeoJSON, GeoPackage or Shapefile in any CRS.

    Parameters
    ----------
    path : path-like
        The file. Its CRS is read from the file (EPSG:4490 and projected CRSs included); a file
        without CRS is taken as WGS84 lon/lat when its coordinates fit, else refused.
    name_col : str, optional
        Column with the boundary names; default: the first of :data:`NAME_COLUMNS` present
        (``name``, ``名称``, ``街道``, …, ``县名``).
    layer : str, optional
        Layer of a multi-layer file (GeoPackage); default: the first polygon layer (noted).
    code_col : str, optional
        Column with statistical codes; default: the first of :data:`CODE_COLUMNS` present.
    registry : DataFrame, optional
        Street registry used to fill missing codes and OSM relations (default
        :func:`street_registry`).

    Returns
    -------
    (GeoDataFrame, LoadReport)
        Boundaries in EPSG:4326 with :data:`BOUNDARY_COLUMNS` and geometry. Rows with empty,
        missing or non-polygonal geometry are rejected (field ``geometry``); repaired invalid
        geometries are kept and noted with their row.

    Raises
    ------
    FileNotFoundError, ValueError
        Missing or unreadable file, unknown column, file without CRS in projected units.
    """
    path = Path(path)
    if not path.exists():
        raise FileNotFoundError(f"{path}: no such boundary file")
    report = LoadReport(str(path))
    gdf = _read_boundary_file(path, layer, report)
    src_crs = gdf.crs
    _warn_degrees_in_metres(gdf, report)
    name_c = _pick_column(gdf.columns, name_col, NAME_COLUMNS, path, "name")
    code_c = _pick_column(gdf.columns, code_col, CODE_COLUMNS, path, "code")
    rel_c = _pick_column(gdf.columns, None, RELATION_COLUMNS, path, "relation")
    if name_c is None:
        report.note(
            f"no name column found (tried {', '.join(NAME_COLUMNS[:6])}, …); rows are "
            "named after the file; give name_col="
        )
    keep_rows, geoms, names, codes, rels = [], [], [], [], []
    for i, (geom, (_, row)) in enumerate(zip(gdf.geometry.values, gdf.iterrows(), strict=True)):
        rownum = i + 1
        name = row[name_c] if name_c is not None else None
        name = f"{path.stem} #{rownum}" if _blank(name) else str(name).strip()
        fixed = _usable_geometry(geom, rownum, name, src_crs, report)
        if fixed is None:
            continue
        keep_rows.append(rownum)
        geoms.append(fixed)
        names.append(name)
        codes.append(_code_text(row[code_c]) if code_c is not None else None)
        rel = row[rel_c] if rel_c is not None else None
        rels.append(None if _blank(rel) else _relation_or_none(_code_text(rel)))
    out = gpd.GeoDataFrame(
        {
            "name": names,
            "code": codes,
            "osm_relation": pd.array(rels, dtype="Int64"),
            "area_km2": np.zeros(len(names)),
            "src_file": str(path),
            "src_row": keep_rows,
        },
        geometry=gpd.GeoSeries(geoms, crs=src_crs).values,
        crs=src_crs,
    ).to_crs(WGS84)
    if src_crs is not None and not src_crs.equals(WGS84):
        report.note(f"converted from {src_crs.to_string()} ({src_crs.name}) to EPSG:4326")
    out = _lonlat_rows(out, report)
    _fill_from_registry(out, registry, report)
    if len(out):
        out["area_km2"] = out.to_crs(metric_crs_for(out)).area.to_numpy() / 1e6
    out["code"] = _object_column(out["code"])
    report.n_loaded = len(out)
    return out[[*BOUNDARY_COLUMNS, "geometry"]], report


def _lonlat_rows(out: gpd.GeoDataFrame, report: LoadReport) -> gpd.GeoDataFrame:
    """Rows whose WGS84 bounds are real lon/lat; the others rejected (e.g. a vertex at 1e308)."""
    b = out.geometry.bounds.to_numpy()
    ok = np.isfinite(b).all(axis=1) & (np.abs(b[:, [0, 2]]) <= 180).all(axis=1)
    ok &= (np.abs(b[:, [1, 3]]) <= 90).all(axis=1)
    for row, box in zip(out["src_row"][~ok], b[~ok], strict=True):
        report.reject(
            int(row),
            "geometry",
            "坐标超出经纬度范围 (coordinates outside lon/lat: "
            + ", ".join(f"{v:.6g}" for v in box)
            + ")",
        )
    return out[ok]


def _fill_from_registry(
    gdf: gpd.GeoDataFrame, registry: pd.DataFrame | None, report: LoadReport
) -> None:
    """Fill missing codes and OSM relations from the street registry (in place)."""
    if gdf.empty:
        return
    try:
        reg = street_registry() if registry is None else registry
    except (FileNotFoundError, ValueError) as exc:
        report.note(f"street registry not used: {exc}")
        return
    districts = {}
    if {"district", "district_code"} <= set(reg.columns):
        districts = {
            n: c
            for n, c in zip(reg["district"], reg["district_code"], strict=True)
            if isinstance(n, str) and c
        }
    filled = []
    for idx in gdf.index:
        name, code = gdf.at[idx, "name"], gdf.at[idx, "code"]
        entry = (registry_entry(code, reg) if code else None) or registry_entry(name, reg)
        new_code = entry.get("code") if entry is not None else districts.get(name)
        changed = False
        if not code and new_code:
            gdf.at[idx, "code"] = new_code
            changed = True
        if (
            entry is not None
            and pd.isna(gdf.at[idx, "osm_relation"])
            and not pd.isna(entry["osm_relation"])
        ):
            gdf.at[idx, "osm_relation"] = int(entry["osm_relation"])
            changed = True
        if changed:
            filled.append(name)
    if filled:
        report.note(f"code/OSM relation filled from the street registry for: {', '.join(filled)}")


# ---------------------------------------------------------------------------- online
def boundary_from_osm(
    relation_id, *, cache_folder=None, use_cache: bool = True, registry: pd.DataFrame | None = None
) -> gpd.GeoDataFrame:
    """Boundary polygon of an OSM relation, through osmnx's Nominatim lookup (cached).

    Parameters
    ----------
    relation_id : int or str
        e.g. ``14187869`` or ``"R14187869"`` (石泉路街道).
    cache_folder : path-like, optional
        osmnx cache folder for this call.
    use_cache : bool
        Answer repeated requests from osmnx's cache.
    registry : DataFrame, optional
        Street registry for the statistical code (default :func:`street_registry`).

    Returns
    -------
    GeoDataFrame
        One row in the boundaries schema (EPSG:4326); ``src_file`` names the relation.

    Raises
    ------
    ValueError
        Unknown relation, or Nominatim returned no polygon for it.
    """
    import osmnx as ox

    from .osm_online import cache_overrides, osmnx_settings

    rel = _relation_id(relation_id)
    with osmnx_settings(**cache_overrides(cache_folder, use_cache)) as settings:
        url = settings.nominatim_url
        try:
            found = ox.geocode_to_gdf(f"R{rel}", by_osmid=True)
        except ox._errors.InsufficientResponseError as exc:
            raise ValueError(f"OSM relation {rel}: not found by Nominatim ({url})") from exc
    if found.empty:
        raise ValueError(f"OSM relation {rel}: not found by Nominatim ({url})")
    row = found.iloc[0]
    geom = row.geometry
    if geom is not None and not geom.is_valid:
        geom = _polygonal_part(shapely.make_valid(geom))
    if geom is None or geom.is_empty or geom.geom_type not in _POLYGONAL:
        kind = "nothing" if geom is None else geom.geom_type
        raise ValueError(f"OSM relation {rel}: Nominatim returned {kind}, not a boundary polygon")
    name = row.get("name")
    if _blank(name):
        name = str(row.get("display_name", f"R{rel}")).split(",")[0].strip()
    try:
        entry = registry_entry(rel, street_registry() if registry is None else registry)
    except (FileNotFoundError, ValueError):
        entry = None
    out = gpd.GeoDataFrame(
        {
            "name": [name],
            "code": [entry["code"] if entry else None],
            "osm_relation": pd.array([rel], dtype="Int64"),
            "area_km2": [0.0],
            "src_file": [f"OSM relation {rel} (Nominatim {url})"],
            "src_row": [1],
        },
        geometry=[geom],
        crs=WGS84,
    )
    out["area_km2"] = out.to_crs(metric_crs_for(out)).area.to_numpy() / 1e6
    out["code"] = _object_column(out["code"])
    return out[[*BOUNDARY_COLUMNS, "geometry"]]


def boundary_for(
    name_or_relation,
    *,
    registry: pd.DataFrame | None = None,
    cache_folder=None,
    use_cache: bool = True,
) -> gpd.GeoDataFrame:
    """Boundary of a registered street by name (石泉路街道 or 石泉路), code, or relation id.

    Names and codes are looked up in :func:`street_registry`; the polygon comes from OSM
    (:func:`boundary_from_osm`). A relation id not in the registry is fetched as it is.

    Raises
    ------
    ValueError
        A name or code that the registry does not know (the message lists the known names).
    """
    reg = street_registry() if registry is None else registry
    entry = registry_entry(name_or_relation, reg)
    if entry is None:
        text = str(name_or_relation).strip()
        rel = None if _looks_like_code(text) else _relation_or_none(name_or_relation)
        if rel is None:
            raise ValueError(
                f"unknown street {name_or_relation!r}; known: "
                f"{', '.join(reg['name'])} (or give an OSM relation id)"
            )
    else:
        if pd.isna(entry["osm_relation"]):
            raise ValueError(f"{entry['name']}: no OSM relation in the street registry")
        rel = int(entry["osm_relation"])
    out = boundary_from_osm(rel, cache_folder=cache_folder, use_cache=use_cache, registry=reg)
    if entry is not None:
        out["name"] = entry["name"]
        if entry.get("code"):
            out["code"] = entry["code"]
    return out
