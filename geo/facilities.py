"""Facilities: load point tables (CSV, XLSX, GeoJSON, GPKG) or OSM POIs into one schema.

Every loader returns ``(GeoDataFrame, LoadReport)``. The GeoDataFrame (EPSG:4326 points) has the
columns

``fid``
    ``"<file stem>:<row>"`` (``"osm:<element>/<id>"`` for OSM), unique.
``name``, ``type``, ``address``
    As found in the source (``None`` when absent). ``type`` is the source's type text.
``category``
    ``elder_care``, ``fitness``, ``car_parking``, ``bike_parking``, ``charging``, ``health``,
    ``culture``, ``market``, ``park`` (see
    ``data/facilities/categories.yaml``) or a default category the caller gives.
``src_file``, ``src_row``, ``src_x``, ``src_y``
    File name, row as the planner sees it (the spreadsheet row, header = row 1, title rows above
    it counted; the feature number for vector files) and the
    original coordinates in the declared system.

Row accounting: every input row is either returned or rejected in the report with file, row,
field and reason. Checks, in order: missing or non-numeric coordinates; coordinates out of range or
lat/lon swapped (for China: never swapped silently); a point far outside the declared area
(default: outside China's bounding box); an unknown type; duplicates (identical rows, or the same
name within 1 m).

OSM POIs are classified by tags with :data:`OSM_RULES` (first matching rule wins):

============  ==============================================================================
elder_care    amenity=social_facility with social_facility:for=senior/elderly/aged;
              social_facility=nursing_home/assisted_living; amenity=nursing_home;
              healthcare=nursing_home
fitness       leisure=fitness_station/fitness_centre/sports_centre/sports_hall/stadium/track;
              leisure=pitch unless access=private/no
car_parking   amenity=parking (停车场)
bike_parking  amenity=bicycle_parking/motorcycle_parking (非机动车停放: bicycles and e-bikes,
              which Shanghai parks as non-motor vehicles)
charging      amenity=charging_station (充电桩)
health        amenity=clinic/hospital/doctors; healthcare=clinic/hospital/doctor/centre/nurse
              (pharmacies are not counted: plans count 社区卫生服务站/中心 and hospitals)
culture       amenity=community_centre/library/arts_centre/social_centre
market        amenity=marketplace; shop=supermarket/convenience/greengrocer
park          leisure=park unless access=private/no
============  ==============================================================================
"""

from __future__ import annotations

import codecs
import csv
import io
import json
import re
import unicodedata
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely
import yaml
from pyproj import CRS

from ..settings import PACKAGE_DATA, WGS84
from .crs import (
    convert_lonlat,
    looks_like_degrees,
    metric_crs_for,
    missing_coords_message,
    normalize_coords,
    out_of_china,
)
from .report import LoadReport

__all__ = [
    "COLUMNS",
    "Categories",
    "FacilitiesError",
    "OSM_RULES",
    "OSM_TAGS",
    "near_duplicates",
    "REASONS",
    "facilities_from_osm",
    "facilities_from_osm_features",
    "load_categories",
    "load_facilities",
    "osm_tags",
]

#: Output columns, in order (plus ``geometry``).
COLUMNS = ["fid", "name", "type", "category", "address", "src_file", "src_row", "src_x", "src_y"]

#: Rejection reasons: the Chinese text planners read, with the English term to search for.
REASONS = {
    "missing": "缺少坐标 (missing coordinates)",
    "non_numeric": "坐标不是数字 (non-numeric coordinates)",
    "range": "坐标超出经纬度范围 (coordinates out of range)",
    "swapped": "经纬度颠倒 (swapped lat/lon)",
    "conversion": "坐标无法转换 (coordinates could not be converted)",
    "outside": "远离研究范围 (far outside the declared area)",
    "unknown_type": "未知设施类型 (unknown type)",
    "duplicate_row": "重复行 (duplicate: identical row)",
    "duplicate_near": "同名且位置重复 (duplicate: same name within {m:g} m)",
    "geometry": "缺少几何 (missing geometry)",
    "malformed": "字段数与表头不符 (malformed row)",
}

CATEGORIES_YAML = PACKAGE_DATA / "facilities" / "categories.yaml"

_X_NAMES = ("lng", "lon", "long", "longitude", "x", "经度", "东经", "point_x", "coord_x")
_Y_NAMES = ("lat", "latitude", "y", "纬度", "北纬", "point_y", "coord_y")
_XY_NAMES = ("location", "lnglat", "lonlat", "lng_lat", "经纬度", "坐标")
_TYPE_NAMES = ("type", "类型", "设施类型", "类别", "分类", "机构类型", "kind")
_NAME_NAMES = ("name", "名称", "设施名称", "机构名称", "站点名称", "title")
_ADDRESS_NAMES = ("address", "addr", "地址", "详细地址")
_MISSING_TEXT = {"", "nan", "none", "null", "na", "n/a", "-", "--"}


#: The command-line option that names each column (hints name options, not Python arguments).
_OPTION = {
    "x (longitude)": "--x",
    "y (latitude)": "--y",
    "type": "--type-col",
    "name": "--name-col",
    "address": "运行配置 address_col",
}


class FacilitiesError(ValueError):
    """A facility source that cannot be read at all (no usable columns, unknown format, ...)."""


# --------------------------------------------------------------------------- categories
def _norm(text: object) -> str:
    """Normalise a type name: NFKC (full-width brackets → ASCII), no whitespace."""
    return re.sub(r"\s+", "", unicodedata.normalize("NFKC", str(text)))


@dataclass(frozen=True)
class Categories:
    """Type-name → category rules read from ``categories.yaml``.

    Attributes
    ----------
    labels : dict
        Category → Chinese label (``elder_care`` → ``为老服务``).
    exact : dict
        Normalised type name → category.
    keywords : tuple of (keyword, category)
        Longest first; ties keep the YAML order of categories.
    exclude : tuple of str
        Keywords of rows that are not facilities (never classified by keyword).
    """

    labels: dict[str, str]
    exact: dict[str, str]
    keywords: tuple[tuple[str, str], ...]
    exclude: tuple[str, ...] = ()

    @classmethod
    def from_mapping(cls, data: Mapping) -> Categories:
        cats = data.get("categories", data)
        labels, exact, keywords = {}, {}, []
        for order, (cat, spec) in enumerate(cats.items()):
            spec = spec or {}
            labels[cat] = str(spec.get("label", cat))
            for name in (cat, labels[cat]):
                exact.setdefault(_norm(name), cat)
            for t in spec.get("types", []) or []:
                exact.setdefault(_norm(t), cat)
                for part in re.split(r"[/、]", str(t)):
                    if part.strip():
                        exact.setdefault(_norm(part), cat)
            for k in spec.get("keywords", []) or []:
                keywords.append((_norm(k), cat, order))
        keywords.sort(key=lambda kw: (-len(kw[0]), kw[2]))
        exclude = tuple(_norm(k) for k in data.get("not_facilities", []) or [])
        return cls(labels, exact, tuple((k, c) for k, c, _ in keywords), exclude)

    def classify(self, type_name: object) -> str | None:
        """Category of a type name, or ``None`` when unknown (or not a facility)."""
        if type_name is None or (isinstance(type_name, float) and np.isnan(type_name)):
            return None
        text = _norm(type_name)
        if not text:
            return None
        if text in self.exact:
            return self.exact[text]
        if any(k in text for k in self.exclude):
            return None
        for k, cat in self.keywords:
            if k in text:
                return cat
        return None

    def label(self, category: str) -> str:
        """Chinese label of a category (the category itself when not listed)."""
        return self.labels.get(category, "其他" if category == "other" else category)


@lru_cache(maxsize=8)
def _load_categories_cached(path: str) -> Categories:
    with open(path, encoding="utf-8") as fh:
        return Categories.from_mapping(yaml.safe_load(fh) or {})


def load_categories(path: str | Path | None = None) -> Categories:
    """Read the category rules (default: the package's ``data/facilities/categories.yaml``)."""
    return _load_categories_cached(str(Path(path or CATEGORIES_YAML).resolve()))


def _categories(categories) -> Categories:
    if categories is None:
        return load_categories()
    if isinstance(categories, Categories):
        return categories
    if isinstance(categories, Mapping):
        return Categories.from_mapping(categories)
    return load_categories(categories)


# --------------------------------------------------------------------------- reading
def near_duplicates(xy: np.ndarray, names, distance_m: float) -> list[tuple[int, int]]:
    """Rows with the same non-empty name within ``distance_m`` of an earlier row kept.

    Rows are taken in order; a row is a duplicate of the first kept row with its name at most
    ``distance_m`` away, else it is kept. Kept rows are filed by (name, grid cell of side
    ``distance_m``), and a row is compared only with the kept rows of its name in the 3 × 3
    cells around it; kept rows of one name in one cell are more than ``distance_m`` apart, so
    there are at most a few: time and memory stay linear however the points cluster (100k
    rows at one point: one comparison each).

    Parameters
    ----------
    xy : ndarray (n, 2)
        Metric coordinates.
    names : sequence of str
        Names ("" = no name: never a duplicate).
    distance_m : float

    Returns
    -------
    list of (int, int)
        ``(duplicate, first)`` positions, in row order.
    """
    names = pd.Series(np.asarray(names, dtype=object)).fillna("").astype(str).to_numpy()
    if distance_m <= 0 or len(names) < 2:
        return []
    candidates = pd.Series(names).duplicated(keep=False).to_numpy() & (names != "")
    cells = np.floor(xy / distance_m).astype(np.int64)
    limit = distance_m * distance_m
    kept: dict[tuple, list[int]] = {}
    out: list[tuple[int, int]] = []
    for k in np.flatnonzero(candidates):
        name, cx, cy = names[k], int(cells[k, 0]), int(cells[k, 1])
        first = None
        for dx in (-1, 0, 1):
            for dy in (-1, 0, 1):
                for m in kept.get((name, cx + dx, cy + dy), ()):
                    d = xy[m] - xy[k]
                    if d[0] * d[0] + d[1] * d[1] <= limit and (first is None or m < first):
                        first = m
        if first is None:
            kept.setdefault((name, cx, cy), []).append(int(k))
        else:
            out.append((int(k), first))
    return out


def _mixed_encoding_rows(raw: bytes) -> tuple[int, int] | None:
    """(a line in UTF-8 Chinese, a line that is not UTF-8), 1-based, when a file has both."""
    utf8_cjk = bad = None
    for i, line in enumerate(raw.split(b"\n"), start=1):
        if line.isascii():
            continue
        try:
            text = line.decode("utf-8")
        except UnicodeDecodeError:
            bad = bad or i
        else:
            if utf8_cjk is None and re.search("[\u4e00-\u9fff]", text):
                utf8_cjk = i
        if utf8_cjk and bad:
            return utf8_cjk, bad
    return None


def _decode(raw: bytes, path: str) -> tuple[str, str]:
    """Decode CSV bytes: BOM (UTF-8/16), then UTF-8, then GB18030 (a superset of GBK)."""
    if raw.startswith(codecs.BOM_UTF8):
        return raw[len(codecs.BOM_UTF8) :].decode("utf-8"), "UTF-8-BOM"
    if raw.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        return raw.decode("utf-16"), "UTF-16"
    try:
        return raw.decode("utf-8"), "UTF-8"
    except UnicodeDecodeError:
        mixed = _mixed_encoding_rows(raw)
        if mixed is not None:
            first, row = mixed
            raise FacilitiesError(
                f"{path}: 第 {row} 行不是 UTF-8 编码，而第 {first} 行是 UTF-8 中文："
                "文件混用了两种编码 (mixed encodings, e.g. rows pasted from a GBK file); "
                "请在编辑器中把整个文件另存为 UTF-8"
            ) from None
    try:
        return raw.decode("gb18030"), "GBK/GB18030"
    except UnicodeDecodeError as exc:
        row = raw[: exc.start].count(b"\n") + 1
        raise FacilitiesError(
            f"{path}: 第 {row} 行既不是 UTF-8 也不是 GBK/GB18030 编码 (byte {exc.start}); "
            "请把文件另存为 UTF-8"
        ) from None


def _filled(rec) -> int:
    """Non-empty cells of a record."""
    return sum(1 for v in rec if v is not None and str(v).strip())


def _header_index(records: list, skip_rows: int | None, report: LoadReport, path) -> int:
    """Index of the header record: after ``skip_rows`` records when given, else the first
    non-blank record, passing title rows (one filled cell, e.g. "普陀区为老服务设施名录（2020）")
    above a real header."""
    if skip_rows is not None:
        if skip_rows < 0 or skip_rows >= len(records):
            raise FacilitiesError(
                f"{path}: --skip-rows {skip_rows}: 文件只有 {len(records)} 行 (rows in file)"
            )
        start = skip_rows
        while start < len(records) and _filled(records[start]) == 0:
            start += 1
        if start == len(records):
            raise FacilitiesError(f"{path}: --skip-rows {skip_rows} 之后没有表头 (no header row)")
        return start
    filled = [(i, _filled(r)) for i, r in enumerate(records) if _filled(r)]
    if not filled:
        raise FacilitiesError(
            f"{path}: 文件为空或没有表头 (the file is empty or has no header row)"
        )
    start = filled[0][0]
    titles = []
    for (i, k), (_, k_next) in zip(filled[:5], filled[1:6], strict=False):
        if k <= 1 and k_next >= 2:
            titles.append(i)
            start = filled[len(titles)][0]
        else:
            break
    if titles:
        text = "; ".join(str(next(v for v in records[i] if v is not None and str(v).strip()))
                         for i in titles)  # fmt: skip
        report.note(
            f"表头上方的标题行已跳过 (title row skipped): 第 {', '.join(str(i + 1) for i in titles)}"
            f" 行 {text!r}; 表头在第 {start + 1} 行 (否则用 --skip-rows N 指定)"
        )
    return start


def _read_csv(path: Path, report: LoadReport, skip_rows: int | None = None) -> pd.DataFrame:
    """Rows of a delimited text file, indexed by their spreadsheet row (header = row 1)."""
    text, encoding = _decode(path.read_bytes(), str(path))
    report.note(f"encoding {encoding}")
    lines = [ln for ln in text[:20000].splitlines() if ln.strip()]
    try:
        sample = lines[min(len(lines) - 1, (skip_rows or 0) + 1)]
        delimiter = csv.Sniffer().sniff(sample, delimiters=",;\t|").delimiter
    except (csv.Error, IndexError):
        delimiter = ","
    records = list(csv.reader(io.StringIO(text, newline=""), delimiter=delimiter))
    start = _header_index(records, skip_rows, report, path)
    header = [c.strip() for c in records[start]]
    rows, data = [], []
    for i, rec in enumerate(records[start + 1 :], start=start + 2):
        if not any(c.strip() for c in rec):
            continue  # blank line: not a data row
        if len(rec) > len(header) and not any(c.strip() for c in rec[len(header) :]):
            rec = rec[: len(header)]
        if len(rec) > len(header):
            report.n_input += 1
            report.reject(
                i, None, REASONS["malformed"], f"{len(rec)} 个字段, 表头 {len(header)} 个"
            )
            continue
        rows.append(i)
        data.append(rec + [""] * (len(header) - len(rec)))
    df = pd.DataFrame(data, columns=header, dtype=object)
    df.index = pd.Index(rows, name="src_row")
    return df


def _pick_sheet(wb, sheet, path):
    """The worksheet named or numbered (0-based) by ``sheet``; the first one by default."""
    names = ", ".join(f"{i}: {n!r}" for i, n in enumerate(wb.sheetnames))
    if sheet is None:
        return wb.worksheets[0]
    if isinstance(sheet, int):
        if 0 <= sheet < len(wb.worksheets):
            return wb.worksheets[sheet]
        raise FacilitiesError(
            f"{path}: 没有第 {sheet} 个工作表 (sheet index {sheet}, counted from 0); "
            f"工作簿有 {len(wb.sheetnames)} 个: {names}"
        )
    if sheet in wb.sheetnames:
        return wb[sheet]
    raise FacilitiesError(f"{path}: 没有工作表 {sheet!r} (no sheet {sheet!r}); 工作簿有: {names}")


_XLSX_CELL = re.compile(rb"<c\b[^>]*?\br=\"([A-Z]+\d+)\"[^>]*?(?:/>|>(.*?)</c>)", re.S)


def _formulas_without_values(ws) -> list[str]:
    """References of formula cells saved without a computed value (read as empty)."""
    try:
        xml = ws.parent._archive.open(ws._worksheet_path).read()
    except (AttributeError, KeyError, OSError):  # not a read-only sheet of a zip: cannot tell
        return []
    out = []
    for m in _XLSX_CELL.finditer(xml):
        body = m.group(2) or b""
        if b"<f" in body and not re.search(rb"<v>[^<]", body):
            out.append(m.group(1).decode("ascii"))
    return out


def _read_xlsx(path: Path, sheet, report: LoadReport, skip_rows: int | None = None) -> pd.DataFrame:
    """Rows of a worksheet, indexed by their sheet row (header = the row it is on)."""
    import openpyxl

    try:
        wb = openpyxl.load_workbook(path, read_only=True, data_only=True)
    except Exception as exc:  # openpyxl raises many kinds for a broken file
        raise FacilitiesError(f"{path}: cannot read as an Excel workbook: {exc}") from None
    try:
        ws = _pick_sheet(wb, sheet, path)
        values = [list(r) for r in ws.iter_rows(values_only=True)]
        uncached = _formulas_without_values(ws)
    finally:
        wb.close()
    if not any(_filled(r) for r in values):
        raise FacilitiesError(f"{path}: sheet {ws.title!r} is empty")
    start = _header_index(values, skip_rows, report, path)
    header = ["" if v is None else str(v).strip() for v in values[start]]
    report.note(f"sheet {ws.title!r}, header on sheet row {start + 1}")
    if uncached:
        cells = ", ".join(uncached[:5]) + (" ..." if len(uncached) > 5 else "")
        report.note(
            f"{len(uncached)} 个公式单元格没有保存计算结果 ({cells}), 读作空值: 请在 Excel 中打开"
            "并保存工作簿 (保存计算值), 或把公式改为数值 (formula cells without cached values)"
        )
        report.stats["formula_cells_without_values"] = len(uncached)
    rows, data = [], []
    for i, rec in enumerate(values[start + 1 :], start=start + 2):
        if not _filled(rec):
            continue
        rows.append(i)
        data.append(list(rec[: len(header)]) + [None] * (len(header) - len(rec)))
    df = pd.DataFrame(data, columns=header, dtype=object)
    df.index = pd.Index(rows, name="src_row")
    return df


def _find(columns: Iterable[str], names: Iterable[str], prefixes: Iterable[str] = ()) -> list[str]:
    cols = list(columns)
    low = {c: _norm(c).lower() for c in cols}
    hits = [c for c in cols if low[c] in names]
    if not hits and prefixes:
        hits = [c for c in cols if low[c].startswith(tuple(prefixes))]
    return hits


def _pick(df: pd.DataFrame, given: str | None, names, what: str, path, prefixes=()) -> str | None:
    if given is not None:
        if given not in df.columns:
            raise FacilitiesError(
                f"{path}: no {what} column {given!r}; columns: {list(df.columns)}"
            )
        return given
    hits = _find(df.columns, names)
    if not hits and prefixes:
        hits = _find(df.columns, (), prefixes)
        if len(hits) > 1:
            raise FacilitiesError(
                f"{path}: several possible {what} columns {hits}; 用 {_OPTION[what]} 指定要用的一列"
            )
    return hits[0] if hits else None


# --------------------------------------------------------------------------- assembly
def _geographic(system: str) -> bool:
    return system in ("wgs84", "gcj02", "bd09") or CRS.from_user_input(system).is_geographic


def _area_geometry(area) -> tuple[shapely.Geometry, CRS]:
    """Union of ``area`` in its metric CRS."""
    if isinstance(area, gpd.GeoDataFrame | gpd.GeoSeries):
        gs = area.geometry if isinstance(area, gpd.GeoDataFrame) else area
        if gs.crs is None:
            gs = gs.set_crs(WGS84)
    else:
        gs = gpd.GeoSeries([area], crs=WGS84)
    metric = metric_crs_for(gs)
    return shapely.union_all(gs.to_crs(metric).values), metric


def _refuse_mostly_swapped(swapped, alive, rows, pair, src_file: str, fields) -> None:
    """Raise when most usable rows look like lat/lon swapped: a whole column mix-up, not bad rows."""
    n_alive = int(alive.sum())
    n_swapped = int(swapped.sum())
    if n_alive == 0 or n_swapped * 2 <= n_alive:
        return
    i = int(np.flatnonzero(swapped)[0])
    raise FacilitiesError(
        f"{src_file}: {n_alive} 行中有 {n_swapped} 行的经纬度看起来颠倒 (swapped lat/lon), "
        f"如第 {rows[i]} 行 ({fields[0]}, {fields[1]} = {pair[i]}): 经度列与纬度列可能对调了; "
        "确认后加 --swap-xy (运行配置: swap_xy: true) 交换两列, 或用 --x/--y 指定经度列与纬度列"
    )


class _Rows:
    """The rows of a facility table being checked: which are still alive, and the report
    every rejection goes to."""

    def __init__(self, table: pd.DataFrame, report: LoadReport) -> None:
        self.n = len(table)
        self.rows = table.index.to_numpy(dtype=np.int64)
        self.alive = np.ones(self.n, dtype=bool)
        self.report = report

    def reject(self, mask: np.ndarray, field: str | None, reason: str, values) -> None:
        """Reject the alive rows of ``mask`` (each with its value when ``values`` is given)."""
        for i in np.flatnonzero(mask & self.alive):
            value = values[i] if values is not None else None
            self.report.reject(int(self.rows[i]), field, reason, value)
        self.alive[mask] = False


@dataclass
class _Coords:
    """The coordinate text of each row (``xs``, ``ys``, ``pair``), its numbers in the source
    system (``x``, ``y``) and in WGS84 (``lon``, ``lat``); ``both`` names the field(s)."""

    xs: np.ndarray
    ys: np.ndarray
    pair: np.ndarray
    x: np.ndarray
    y: np.ndarray
    lon: np.ndarray
    lat: np.ndarray
    both: str


@dataclass
class _Columns:
    """Where a table's facts are: coordinate fields, type, name and address columns."""

    fields: tuple[str, str]
    type_col: str | None
    name_col: str | None
    address_col: str | None


@dataclass
class _Checks:
    """The checks of a load: default category, type rules, declared area and its tolerance,
    the distance under which same-named rows are duplicates."""

    category: str | None
    cats: Categories
    area: object
    area_tolerance_m: float
    duplicate_m: float


def _text(values: pd.Series) -> pd.Series:
    """Cells as stripped text, missing as ``""``."""
    return values.astype(object).where(values.notna(), "").astype(str).str.strip()


def _coordinates(st: _Rows, x_raw, y_raw, system: str, src_file: str, fields) -> _Coords:
    """Missing, non-numeric, swapped, out-of-range or unconvertible coordinates rejected;
    the rest converted to WGS84."""
    xs = _text(x_raw).to_numpy()
    ys = _text(y_raw).to_numpy()
    pair = np.array([f"{a}, {b}" for a, b in zip(xs, ys, strict=True)], dtype=object)
    x_miss = np.array([v.lower() in _MISSING_TEXT for v in xs], dtype=bool)
    y_miss = np.array([v.lower() in _MISSING_TEXT for v in ys], dtype=bool)
    fx, fy = fields
    both = fx if fx == fy else f"{fx}/{fy}"
    st.reject(x_miss & y_miss, both, REASONS["missing"], None)
    st.reject(x_miss, fx, REASONS["missing"], pair)
    st.reject(y_miss, fy, REASONS["missing"], pair)
    x = pd.to_numeric(pd.Series(xs), errors="coerce").to_numpy(dtype=float)
    y = pd.to_numeric(pd.Series(ys), errors="coerce").to_numpy(dtype=float)
    st.reject(~np.isfinite(x), fx, REASONS["non_numeric"], xs)
    st.reject(~np.isfinite(y), fy, REASONS["non_numeric"], ys)
    alive = st.alive
    if _geographic(system):
        with np.errstate(invalid="ignore"):
            in_china = ~out_of_china(x, y)
            swapped = ~in_china & ~out_of_china(y, x)
            bad_range = (np.abs(x) > 180) | (np.abs(y) > 90)
        _refuse_mostly_swapped(swapped & alive, alive, st.rows, pair, src_file, fields)
        st.reject(swapped, both, REASONS["swapped"], pair)
        st.reject(bad_range, both, REASONS["range"], pair)
    elif alive.any() and looks_like_degrees(x[alive], y[alive]):
        i = int(np.flatnonzero(alive)[0])
        raise FacilitiesError(
            f"{src_file}: 坐标值看起来是经纬度 (values look like degrees), 不是 {system} 的投影坐标 "
            f"(projected metres), 如第 {st.rows[i]} 行 ({pair[i]}); 经纬度请用 --coords wgs84, "
            "gcj02 或 bd09"
        )
    lon = np.full(st.n, np.nan)
    lat = np.full(st.n, np.nan)
    if alive.any():
        lon[alive], lat[alive] = convert_lonlat(x[alive], y[alive], system, "wgs84")
    st.reject(~(np.isfinite(lon) & np.isfinite(lat)), both, REASONS["conversion"], pair)
    return _Coords(xs, ys, pair, x, y, lon, lat, both)


def _check_area(st: _Rows, c: _Coords, area, tolerance_m: float) -> None:
    """Rows outside China (no area), or farther than ``tolerance_m`` from ``area``, rejected."""
    if area is None:
        outside = out_of_china(np.nan_to_num(c.lon), np.nan_to_num(c.lat))
        st.reject(outside, c.both, REASONS["outside"] + ": 中国境外 (outside China)", c.pair)
    elif area is not False and st.alive.any():
        geom, metric = _area_geometry(area)
        pts = gpd.GeoSeries(gpd.points_from_xy(c.lon, c.lat), crs=WGS84).to_crs(metric).values
        dist = np.full(st.n, np.inf)
        dist[st.alive] = shapely.distance(pts[st.alive], geom)
        far = dist > tolerance_m
        for i in np.flatnonzero(far & st.alive):
            reason = f"{REASONS['outside']}: 距研究范围 {dist[i]:,.0f} 米"
            st.report.reject(int(st.rows[i]), c.both, reason, c.pair[i])
        st.alive[far] = False


def _classify(st: _Rows, table, type_col, category, cats: Categories):
    """(types, categories) of the rows: unknown types get ``category`` or are rejected."""
    n = st.n
    if not type_col:
        types = pd.Series([None] * n, index=table.index, dtype=object)
        return types, np.full(n, category or "other", dtype=object)
    types = _text(table[type_col])
    lookup = {t: cats.classify(t) for t in pd.unique(types)}
    cat = np.array([lookup[t] for t in types], dtype=object)
    unknown = np.array([c is None for c in cat], dtype=bool)
    if category is not None:
        n_default = int((unknown & st.alive).sum())
        if n_default:
            st.report.note(
                f"{n_default} rows of unlisted type given the default category {category!r}"
            )
        cat[unknown] = category
    else:
        st.reject(unknown, type_col, REASONS["unknown_type"], types.to_numpy())
    return types, cat


def _drop_duplicates(st: _Rows, table, c: _Coords, name_col, duplicate_m: float) -> np.ndarray:
    """Identical rows, then same-named rows within ``duplicate_m``, rejected; the names."""
    live = np.flatnonzero(st.alive)
    raw = table.astype(str).iloc[live]
    raw["__x"], raw["__y"] = c.xs[live], c.ys[live]
    dup = raw.duplicated(keep="first").to_numpy()
    if dup.any():
        first: dict[tuple, int] = {}
        for i, key, is_dup in zip(live, raw.itertuples(index=False, name=None), dup, strict=True):
            if not is_dup:
                first.setdefault(key, int(st.rows[i]))
            else:
                st.report.reject(
                    int(st.rows[i]), None, REASONS["duplicate_row"] + f": 与第 {first[key]} 行相同"
                )
                st.alive[i] = False
    names = (_text(table[name_col]) if name_col else pd.Series([""] * st.n)).to_numpy()
    if name_col and st.alive.sum() > 1:
        live = np.flatnonzero(st.alive)
        pts = gpd.GeoSeries(gpd.points_from_xy(c.lon[live], c.lat[live]), crs=WGS84)
        pts = pts.to_crs(metric_crs_for(pts))
        xy = np.column_stack([pts.x.to_numpy(), pts.y.to_numpy()])
        for b, a in near_duplicates(xy, names[live], duplicate_m):
            i, j = live[a], live[b]
            st.report.reject(
                int(st.rows[j]),
                name_col,
                REASONS["duplicate_near"].format(m=duplicate_m) + f": 与第 {st.rows[i]} 行相同",
                names[j],
            )
            st.alive[j] = False
    return names


def _assemble(
    table: pd.DataFrame,
    x_raw: pd.Series,
    y_raw: pd.Series,
    system: str,
    report: LoadReport,
    src_file: str,
    cols: _Columns,
    checks: _Checks,
) -> gpd.GeoDataFrame:
    """The rows of ``table`` that pass every check, as facility points (the rest rejected)."""
    report.n_input += len(table)
    st = _Rows(table, report)
    c = _coordinates(st, x_raw, y_raw, system, src_file, cols.fields)
    _check_area(st, c, checks.area, checks.area_tolerance_m)
    types, cat = _classify(st, table, cols.type_col, checks.category, checks.cats)
    names = _drop_duplicates(st, table, c, cols.name_col, checks.duplicate_m)
    keep = np.flatnonzero(st.alive)
    rows = st.rows
    stem = Path(src_file).stem
    address = np.full(st.n, None, dtype=object)
    if cols.address_col:
        text = table[cols.address_col].astype(object).where(table[cols.address_col].notna(), "")
        address = np.array([str(a).strip() or None for a in text], dtype=object)
    out = gpd.GeoDataFrame(
        {
            "fid": [f"{stem}:{r}" for r in rows[keep]],
            "name": pd.Series([names[i] or None for i in keep], dtype=object),
            "type": pd.Series(types.to_numpy()[keep], dtype=object),
            "category": pd.Series(cat[keep], dtype=object),
            "address": pd.Series(address[keep], dtype=object),
            "src_file": src_file,
            "src_row": rows[keep],
            "src_x": c.x[keep],
            "src_y": c.y[keep],
        },
        geometry=gpd.points_from_xy(c.lon[keep], c.lat[keep]),
        crs=WGS84,
    )
    report.n_loaded += len(out)
    for cat_name, k in out["category"].value_counts().items():
        report.stats[f"loaded_{cat_name}"] = int(k)
    return out


# --------------------------------------------------------------------------- public loaders
def load_facilities(
    path: str | Path,
    coords: str | int | CRS | None,
    x: str | None = None,
    y: str | None = None,
    type_col: str | None = None,
    name_col: str | None = None,
    category: str | None = None,
    categories: Categories | Mapping | str | Path | None = None,
    area=None,
    sheet: str | int | None = None,
    address_col: str | None = None,
    area_tolerance_m: float = 1000.0,
    duplicate_m: float = 1.0,
    swap_xy: bool = False,
    skip_rows: int | None = None,
    keep_cols: Sequence[str] = (),
) -> tuple[gpd.GeoDataFrame, LoadReport]:
    """Load a facility table into WGS84 points, accounting for every row.

    Parameters
    ----------
    path : str or Path
        ``.csv``/``.txt``/``.tsv`` (UTF-8, UTF-8-BOM, UTF-16 or GBK/GB18030, detected), ``.xlsx``,
        or any vector file GeoPandas reads (``.geojson``, ``.gpkg``, ``.shp``).
    coords : str, int or CRS
        The system the coordinates are really in: ``wgs84``, ``gcj02``, ``bd09`` or an EPSG code.
        Vector files may pass ``None`` to use their own CRS; for ``gcj02``/``bd09`` their
        geometry coordinates are read as lon/lat in that system whatever the file's CRS label.
    x, y : str, optional
        Coordinate columns. Default: detected (``lng``/``lon``/``longitude``/``x``/``经度`` and
        ``lat``/``latitude``/``y``/``纬度``; a single ``location``/``经纬度`` column of
        ``"lon,lat"`` text; give the same column twice for such a combined column). Vector
        files use their geometry (polygons → representative point) unless columns are given.
    type_col, name_col, address_col : str, optional
        Default: detected (``type``/``类型``/``类别``, ``name``/``名称``, ``address``/``地址``).
    category : str, optional
        Default category: for every row when there is no type column, else for rows whose type is
        not in the categories (otherwise rejected as unknown type).
    categories : Categories, mapping or path, optional
        Type rules; default ``data/facilities/categories.yaml``.
    area : GeoDataFrame, GeoSeries, shapely geometry or False, optional
        Declared area; points farther than ``area_tolerance_m`` from it are rejected. A bare
        geometry is taken as WGS84. ``None``: China's bounding box. ``False``: no check.
    sheet : str or int, optional
        XLSX sheet (default the first) or vector-file layer.
    area_tolerance_m : float
        Allowed distance outside ``area`` (default 1000 m: facilities just across a boundary still
        serve it).
    duplicate_m : float
        Rows with the same name closer than this are duplicates.
    swap_xy : bool
        The x column holds latitudes and the y column longitudes: swap them. Without it a file
        where most rows look swapped is refused (one mix-up, not many bad rows).
    skip_rows : int, optional
        Table rows above the header (CSV/XLSX). Default: a title row above the header (one
        filled cell, as in government directories) is detected, skipped and noted.
    keep_cols : sequence of str
        Input columns carried over as they are (e.g. a capacity column 床位 for 2SFCA).

    Returns
    -------
    (GeoDataFrame, LoadReport)
        Facilities (columns :data:`COLUMNS`, EPSG:4326) and the row accounting.

    Raises
    ------
    FileNotFoundError
        The file does not exist.
    FacilitiesError
        The file cannot be read at all (format, encoding, no coordinate columns, bad declaration,
        most rows swapped, degree values declared as a projected EPSG system).
    """
    path = Path(path)
    report = LoadReport(str(path))
    if not path.exists():
        raise FileNotFoundError(f"{path}: no such file")
    if path.is_dir():
        raise FacilitiesError(f"{path}: is a folder, not a facility file")
    system = None
    if coords is not None:
        try:
            system = normalize_coords(coords)
        except ValueError as exc:
            raise FacilitiesError(f"{path}: {exc}") from None
    table, geom_xy, system = _read_facility_table(path, sheet, report, skip_rows, system, x)
    if system is None:
        raise FacilitiesError(missing_coords_message(str(path)))
    x_raw, y_raw, fields = _coordinate_columns(table, x, y, geom_xy, path)
    cols = _Columns(
        fields,
        _pick(table, type_col, _TYPE_NAMES, "type", path),
        _pick(table, name_col, _NAME_NAMES, "name", path),
        _pick(table, address_col, _ADDRESS_NAMES, "address", path),
    )
    cats = _categories(categories)
    if category is not None and category not in cats.labels and category != "other":
        raise FacilitiesError(f"unknown category {category!r}; known: {sorted(cats.labels)}")
    if geom_xy is not None and fields == ("geometry", "geometry"):
        # a missing geometry is its own reason
        missing = (x_raw == "").to_numpy()
        for r in table.index[missing]:
            report.reject(int(r), "geometry", REASONS["geometry"])
        report.n_input += int(missing.sum())
        table, x_raw, y_raw = table[~missing], x_raw[~missing], y_raw[~missing]
    if swap_xy:
        x_raw, y_raw = y_raw, x_raw
        cols.fields = (fields[1], fields[0])
    checks = _Checks(category, cats, area, area_tolerance_m, duplicate_m)
    out = _assemble(table, x_raw, y_raw, system, report, path.name, cols, checks)
    for col in keep_cols:
        if col not in table.columns:
            raise FacilitiesError(f"{path}: no column {col!r}; columns: {list(table.columns)}")
        out[col] = table[col].reindex(out["src_row"].to_numpy()).to_numpy()
    report.rejections.sort(key=lambda r: (r.row is None, r.row or 0))
    report.stats.update(
        n_input=report.n_input, n_loaded=report.n_loaded, n_rejected=report.n_rejected
    )
    return out, report


def _read_facility_table(path: Path, sheet, report: LoadReport, skip_rows, system, x):
    """(table, geometry coordinates or None, system) of a CSV, XLSX or vector file; a vector
    file's own CRS is used when no system is declared (or, with no x column, when it differs)."""
    suffix = path.suffix.lower()
    if suffix in (".csv", ".txt", ".tsv"):
        return _read_csv(path, report, skip_rows), None, system
    if suffix in (".xlsx", ".xlsm"):
        return _read_xlsx(path, sheet, report, skip_rows), None, system
    if suffix == ".xls":
        raise FacilitiesError(f"{path}: old .xls workbooks are not supported; save as .xlsx or CSV")
    try:
        gdf = gpd.read_file(path, layer=sheet)
    except Exception as exc:  # pyogrio raises DataSourceError and friends
        raise FacilitiesError(f"{path}: cannot read as a table or vector file: {exc}") from None
    table = pd.DataFrame(gdf.drop(columns=gdf.geometry.name), dtype=object)
    table.index = pd.Index(np.arange(1, len(gdf) + 1), name="src_row")
    geoms = gdf.geometry.to_numpy()
    empty = shapely.is_missing(geoms) | shapely.is_empty(geoms)
    if (~empty & (shapely.get_type_id(geoms) != 0)).any():
        report.note("non-point geometries replaced by a representative point")
    pts = np.where(empty, None, geoms)
    pts[~empty] = shapely.point_on_surface(geoms[~empty])
    gx = pd.Series(np.where(empty, "", shapely.get_x(pts).astype(object)), index=table.index)
    gy = pd.Series(np.where(empty, "", shapely.get_y(pts).astype(object)), index=table.index)
    file_crs = gdf.crs
    if system is None:
        system = normalize_coords(file_crs) if file_crs is not None else None
    elif system in ("gcj02", "bd09"):
        if file_crs is not None and not CRS.from_user_input(file_crs).is_geographic:
            raise FacilitiesError(
                f"{path}: declared {system} but the file is in a projected "
                f"CRS ({file_crs}); {system} coordinates are lon/lat"
            )
    elif file_crs is not None and x is None and normalize_coords(file_crs) != system:
        report.note(f"file CRS {file_crs.to_string()} used (declared {system})")
        system = normalize_coords(file_crs)
    return table, (gx, gy), system


def _coordinate_columns(table, x, y, geom_xy, path: Path):
    """(x values, y values, field names): the given or detected columns (one combined
    ``"lon,lat"`` column split), else a vector file's geometry."""
    if x is None and y is None and geom_xy is not None:
        return geom_xy[0], geom_xy[1], ("geometry", "geometry")
    x = _pick(table, x, _X_NAMES, "x (longitude)", path, ("lng", "lon", "经度"))
    y = _pick(table, y, _Y_NAMES, "y (latitude)", path, ("lat", "纬度"))
    if x is None or y is None:
        combo = [c for c in (x, y) if c] or _find(table.columns, _XY_NAMES)
        if x is None and y is None and combo:
            x = y = combo[0]
        else:
            raise FacilitiesError(
                f"{path}: no coordinate columns found (looked for lng/lon/x/经度 and "
                f"lat/y/纬度); columns: {list(table.columns)}; 用 --x 与 --y 指定经度列与纬度列"
                " (运行配置: x: / y:)"
            )
    if x == y:
        parts = _text(table[x]).str.split(r"[,，;\s]+", n=1, expand=True, regex=True)
        parts = parts.reindex(columns=[0, 1]).fillna("")
        return parts[0], parts[1], (x, y)
    return table[x], table[y], (x, y)


# --------------------------------------------------------------------------- OSM
_SENIOR = ["senior", "seniors", "elderly", "aged", "elder", "old_people"]

#: ``(category, conditions, exclusions)``: all conditions must hold (tag value in list), no
#: exclusion may; the first key of ``conditions`` is the Overpass query key. First match wins.
OSM_RULES: list[tuple[str, dict[str, list[str]], dict[str, list[str]]]] = [
    ("elder_care", {"amenity": ["social_facility"], "social_facility:for": _SENIOR}, {}),
    ("elder_care", {"social_facility": ["nursing_home", "assisted_living"]}, {}),
    ("elder_care", {"amenity": ["nursing_home"]}, {}),
    ("elder_care", {"healthcare": ["nursing_home"]}, {}),
    (
        "fitness",
        {
            "leisure": [
                "fitness_station",
                "fitness_centre",
                "sports_centre",
                "sports_hall",
                "stadium",
                "track",
            ]
        },
        {},
    ),
    ("fitness", {"leisure": ["pitch"]}, {"access": ["private", "no"]}),
    ("car_parking", {"amenity": ["parking"]}, {}),
    ("bike_parking", {"amenity": ["bicycle_parking", "motorcycle_parking"]}, {}),
    ("charging", {"amenity": ["charging_station"]}, {}),
    ("health", {"amenity": ["clinic", "hospital", "doctors"]}, {}),
    ("health", {"healthcare": ["clinic", "hospital", "doctor", "centre", "nurse"]}, {}),
    ("culture", {"amenity": ["community_centre", "library", "arts_centre", "social_centre"]}, {}),
    ("market", {"amenity": ["marketplace"]}, {}),
    ("market", {"shop": ["supermarket", "convenience", "greengrocer"]}, {}),
    ("park", {"leisure": ["park"]}, {"access": ["private", "no"]}),
]


def osm_tags(categories: Iterable[str] | None = None) -> dict[str, list[str]]:
    """The Overpass tag query (osmnx ``tags``) for some or all categories."""
    wanted = None if categories is None else set(categories)
    tags: dict[str, list[str]] = {}
    for cat, cond, _ in OSM_RULES:
        if wanted is not None and cat not in wanted:
            continue
        key, values = next(iter(cond.items()))
        tags.setdefault(key, [])
        tags[key] += [v for v in values if v not in tags[key]]
    return tags


#: Tag query for all categories, as passed to ``osmnx.features_from_polygon``.
OSM_TAGS = osm_tags()


def _tag_series(gdf: pd.DataFrame, key: str) -> pd.Series:
    """Values of an OSM tag as lower-case strings ('' when absent); reads a ``tags`` column too."""
    if key in gdf.columns:
        s = gdf[key]
    elif "tags" in gdf.columns:

        def get(t):
            if isinstance(t, str):
                try:
                    t = json.loads(t)
                except ValueError:
                    return None
            return t.get(key) if isinstance(t, Mapping) else None

        s = gdf["tags"].map(get)
    else:
        return pd.Series("", index=gdf.index, dtype=object)
    return s.astype(object).where(s.notna(), "").astype(str).str.strip().str.lower()


def facilities_from_osm_features(
    gdf: gpd.GeoDataFrame,
    categories: Iterable[str] | None = None,
    source: str = "OpenStreetMap",
) -> tuple[gpd.GeoDataFrame, LoadReport]:
    """Classify OSM POIs (osmnx/pyrosm GeoDataFrame, tags as columns) into facilities.

    Parameters
    ----------
    gdf : GeoDataFrame
        OSM features; tags as columns (``amenity``, ``leisure``, ``social_facility:for``, ...)
        or in a ``tags`` dict/JSON column (pyrosm). Index ``(element, id)`` as osmnx returns,
        or ``osm_type``/``id`` columns as pyrosm returns. Polygons become representative points.
    categories : iterable of str, optional
        Keep only these categories (other POIs are rejected as outside the requested categories).
    source : str
        Name for the report and ``src_file``.

    Returns
    -------
    (GeoDataFrame, LoadReport)
        Facilities in the schema of :func:`load_facilities` (``type`` is the matching
        ``key=value``; ``src_x``/``src_y`` are WGS84 lon/lat); POIs matching no rule are rejected
        as unknown type.
    """
    report = LoadReport(source, n_input=len(gdf))
    if len(gdf) == 0:
        return gpd.GeoDataFrame({c: [] for c in COLUMNS}, geometry=[], crs=WGS84), report
    g = gdf.to_crs(WGS84) if gdf.crs is not None else gdf.set_crs(WGS84)
    n = len(g)
    tag_cache: dict[str, np.ndarray] = {}

    def tag(key: str) -> np.ndarray:
        if key not in tag_cache:
            tag_cache[key] = _tag_series(g, key).to_numpy()
        return tag_cache[key]

    cat, typ = _osm_categories(n, tag)
    fid = _osm_ids(g)
    rows = np.arange(1, n + 1)
    geoms = g.geometry.to_numpy()
    missing = shapely.is_missing(geoms) | shapely.is_empty(geoms)
    pts = np.array(geoms, dtype=object)
    pts[~missing] = shapely.point_on_surface(geoms[~missing])
    wanted = None if categories is None else set(categories)
    keep = np.zeros(n, dtype=bool)
    for i in range(n):
        if missing[i]:
            report.reject(int(rows[i]), "geometry", REASONS["geometry"], fid[i])
        elif cat[i] is None:
            found = [f"{k}={tag(k)[i]}" for k in OSM_TAGS if tag(k)[i]]
            report.reject(int(rows[i]), "tags", REASONS["unknown_type"], " ".join([fid[i], *found]))
        elif wanted is not None and cat[i] not in wanted:
            report.reject(int(rows[i]), "tags", "category not requested (未请求的类别)", cat[i])
        else:
            keep[i] = True
    k = np.flatnonzero(keep)
    names = _osm_names(g, tag("name:zh"))
    address = _osm_addresses(g)
    lon = shapely.get_x(pts[k].astype(object)) if len(k) else np.array([])
    lat = shapely.get_y(pts[k].astype(object)) if len(k) else np.array([])
    out = gpd.GeoDataFrame(
        {
            "fid": [fid[i] for i in k],
            "name": pd.Series([names[i] for i in k], dtype=object),
            "type": pd.Series(typ[k], dtype=object),
            "category": pd.Series(cat[k], dtype=object),
            "address": pd.Series([address[i] for i in k], dtype=object),
            "src_file": source,
            "src_row": rows[k],
            "src_x": lon,
            "src_y": lat,
            # OSM ``capacity`` (beds, places, parking spaces) where tagged, for 2SFCA
            "capacity": pd.to_numeric(pd.Series(tag("capacity")[k], dtype=object), errors="coerce"),
        },
        geometry=gpd.points_from_xy(lon, lat),
        crs=WGS84,
    )
    report.n_loaded = len(out)
    for c, cnt in out["category"].value_counts().items():
        report.stats[f"loaded_{c}"] = int(cnt)
    return out, report


def _osm_categories(n: int, tag) -> tuple[np.ndarray, np.ndarray]:
    """(category, ``key=value`` type) of each feature by :data:`OSM_RULES`, first match wins."""
    cat = np.full(n, None, dtype=object)
    typ = np.full(n, None, dtype=object)
    for name, cond, excl in OSM_RULES:
        mask = cat == None  # noqa: E711 (element-wise)
        for key, values in cond.items():
            mask &= np.isin(tag(key), values)
        for key, values in excl.items():
            mask &= ~np.isin(tag(key), values)
        key0 = next(iter(cond))
        cat[mask] = name
        typ[mask] = [f"{key0}={v}" for v in tag(key0)[mask]]
    return cat, typ


def _osm_ids(g: gpd.GeoDataFrame) -> list[str]:
    """``osm:<element>/<id>`` of each feature (osmnx index or pyrosm columns)."""
    if isinstance(g.index, pd.MultiIndex) and g.index.nlevels >= 2:
        return [f"osm:{e}/{i}" for e, i in g.index]
    if "id" in g.columns:
        kind = g["osm_type"] if "osm_type" in g.columns else pd.Series("node", index=g.index)
        return [f"osm:{e}/{i}" for e, i in zip(kind, g["id"], strict=True)]
    return [f"osm:{i}" for i in g.index]


def _osm_names(g: gpd.GeoDataFrame, name_zh: np.ndarray) -> list[str | None]:
    """Each feature's ``name``, else its ``name:zh``."""
    full_names = g["name"] if "name" in g.columns else pd.Series("", index=g.index)
    return [
        (str(orig) if isinstance(orig, str) and orig.strip() else None) or (z or None)
        for orig, z in zip(full_names, name_zh, strict=True)
    ]


def _osm_addresses(g: gpd.GeoDataFrame) -> list[str | None]:
    """Each feature's ``addr:full``, else ``addr:street`` + ``addr:housenumber``."""
    full = _tag_series(g, "addr:full").to_numpy()

    def column(key: str) -> np.ndarray:
        if key in g.columns:
            return g[key].astype(object).to_numpy()
        return pd.Series(None, index=g.index, dtype=object).to_numpy()

    address = []
    for f, s, h in zip(full, column("addr:street"), column("addr:housenumber"), strict=True):
        if f:
            address.append(f)
        elif isinstance(s, str) and s:
            address.append(s + (str(h) if isinstance(h, str | int) and str(h) else ""))
        else:
            address.append(None)
    return address


def facilities_from_osm(
    polygon,
    categories: Iterable[str] | None = None,
) -> tuple[gpd.GeoDataFrame, LoadReport]:
    """Download facility POIs inside a polygon from OSM (osmnx, so osmnx settings/cache apply).

    Parameters
    ----------
    polygon : shapely Polygon/MultiPolygon (WGS84), GeoSeries or GeoDataFrame
        Area to query (GeoDataFrames are unioned and converted to WGS84).
    categories : iterable of str, optional
        Categories to query (default all in :data:`OSM_RULES`).

    Returns
    -------
    (GeoDataFrame, LoadReport)
        As :func:`facilities_from_osm_features`.
    """
    import osmnx as ox
    from osmnx._errors import InsufficientResponseError

    if isinstance(polygon, gpd.GeoDataFrame | gpd.GeoSeries):
        gs = polygon.geometry if isinstance(polygon, gpd.GeoDataFrame) else polygon
        gs = gs.to_crs(WGS84) if gs.crs is not None else gs
        polygon = shapely.union_all(gs.values)
    from .osm_online import osmnx_settings

    tags = osm_tags(categories)
    try:
        with osmnx_settings():  # bounded requests (timeout, retries), settings restored
            feats = ox.features_from_polygon(polygon, tags)
    except InsufficientResponseError:
        feats = gpd.GeoDataFrame(geometry=[], crs=WGS84)
    return facilities_from_osm_features(feats, categories, source="OpenStreetMap (Overpass)")
