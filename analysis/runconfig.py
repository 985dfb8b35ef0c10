"""Run configurations: one YAML file per street for ``lifecircle run --config FILE``.

A run config says which street to analyse and with which inputs; :func:`load_run_config` reads
it, fills the defaults, expands ``${LIFECIRCLE_DATA}`` (and any other ``${VAR}``), resolves
relative paths against the config file's folder and validates every field, raising
:class:`RunConfigError` naming the file and the field.

Schema (defaults shown; ``data/streets/*.yaml`` are complete examples)
------------------------------------------------------------------------
.. code-block:: yaml

    street: 石泉路街道               # required: the sub-district's name
    district: 普陀区
    code: "310107017"               # statistical code (optional)
    osm_relation: 14187869          # OSM boundary relation; required unless boundary.file
    boundary:                       # optional: a boundary file instead of OSM
      file: null                    # GeoJSON/GPKG/SHP; relative to this file
      name_col: null
      name: null                    # the feature to use (default: street)
    network:
      source: osm                   # osm: download around the boundary | file
      file: null                    # .osm/.xml/.pbf/.graphml for source: file
    buffer_m: null                  # network buffer; null = reach of the largest threshold
    profiles: [elderly]             # speed profiles (first = main); see settings.PROFILES
    minutes: [5, 10, 15]            # thresholds in minutes
    metres: []                      # extra thresholds as walking distances (plan rings)
    max_snap_m: 250
    categories: [elder_care, fitness, car_parking, bike_parking, charging, health, culture, market]
    facilities:                     # one or more sources
      - source: osm                 # OSM POIs classified by tags
        categories: null            # null = all run categories
      - source: file
        file: ${LIFECIRCLE_DATA}/facilities/eldercare_shanghai_gcj02.csv
        coords: gcj02               # wgs84 | gcj02 | bd09 | EPSG:n
        x: lng                      # columns (optional when the loader can guess)
        y: lat
        type_col: type              # classified by data/facilities/categories.yaml ...
        name_col: name
        address_col: null
        rules: null                 # ... or by this category-rules YAML
        category: null              # category of rows without a (known) type
        sheet: null                 # Excel sheet or vector layer
        swap_xy: false              # true: the x column holds latitudes (columns swapped)
        required: true              # false: skipped with a note when missing
    population:
      source: none                  # none: one per network node | file
      file: null                    # polygons with a count column, or a raster
      coords: null                  # required for a CSV/Excel table: wgs84 | gcj02 | bd09 | EPSG:n
      count_col: population
      age_file: null                # census age JSON (share of 60+ per district)
      age_district: null            # district to read from age_file (default: district)
      share60: null                 # explicit 60+ share, overrides age_file
      required: true
    corridors: null                 # corridor YAML (analysis/corridors.py), relative path ok
    siting:
      category: elder_care
      model: greedy                 # greedy | mclp | lscp | pmedian
      new_sites: 3
      minutes: 15
      profile: null                 # null = the main profile
      candidates: null              # candidate sites instead of network nodes:
        # file: 候选点.csv            #   CSV/Excel/GeoJSON, relative to this file
        # coords: gcj02             #   required: wgs84 | gcj02 | bd09 | EPSG:n
        # x: lng, y: lat, name_col: name, sheet: null   (optional)
    targets: []                     # plan figures: {category, minutes, population_share, source}
    plan: null                      # the plan's wording, for the report
    notes: null                     # free text (returned as ``notes_text``)
"""

from __future__ import annotations

import contextlib
import os
import re
import reprlib
from pathlib import Path
from typing import Annotated, Any, Literal

import yaml
from annotated_types import Ge, Gt, Le
from pydantic import (
    AfterValidator,
    AllowInfNan,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Discriminator,
    Field,
    StrictBool,
    Tag,
    ValidationError,
    field_validator,
)

from ..errors import InputValueError
from ..settings import PACKAGE_DATA, PROFILES

__all__ = [
    "DISTRICT_KEYS",
    "KNOWN_CATEGORIES",
    "SCHEMAS",
    "SITING_MODELS",
    "DistrictConfig",
    "FileFacilities",
    "OsmFacilities",
    "RunConfig",
    "RunConfigError",
    "is_district_config",
    "load_district_config",
    "load_run_config",
    "run_config_schema",
    "street_config_file",
]

#: Facility categories a run covers by default (those OSM tags can tell; the demo's too).
DEFAULT_CATEGORIES = (
    "elder_care",
    "fitness",
    "car_parking",
    "bike_parking",
    "charging",
    "health",
    "culture",
    "market",
)
#: Facility categories the run accepts (extended by ``geo.facilities.load_categories`` if any).
KNOWN_CATEGORIES = (*DEFAULT_CATEGORIES, "education", "park", "other")

#: Siting models of ``lifecircle site``.
SITING_MODELS = ("greedy", "mclp", "lscp", "pmedian")


class RunConfigError(InputValueError):
    """A run config that cannot be used; names the file and the field path (``facilities[1].coords``)."""

    def __init__(self, file: str | Path, field_: str, reason: str):
        self.file = str(file)
        self.field = field_
        self.reason = reason
        super().__init__(f"{self.file}: 字段 {field_}: {reason}")


def street_config_file(street: str) -> Path:
    """Path of the packaged run config of a street (``data/streets/<street>.yaml``)."""
    return PACKAGE_DATA / "streets" / f"{street}.yaml"


def _known_categories() -> set[str]:
    known = set(KNOWN_CATEGORIES)
    try:  # the facilities module may define more
        from ..geo.facilities import load_categories

        cats = load_categories()
    except Exception:  # noqa: BLE001 - a broken category file must not hide config errors
        return known
    labels = getattr(cats, "labels", cats)
    if isinstance(labels, dict):
        known |= {str(k) for k in labels}
    return known


# ------------------------------------------------------------------------------ field types
def _number(value):
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise ValueError(f"必须是数字 (must be a number), 不是 {value!r}")
    return value


def _whole(value):
    value = _number(value)
    if int(value) != value:
        raise ValueError(f"必须是整数 (must be a whole number), 不是 {value!r}")
    return int(value)


def _text(value):
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, str | int):
        raise ValueError(f"必须是文字 (must be a text), 不是 {value!r}")
    return str(value).strip() or None


def _as_list(value):
    return [value] if isinstance(value, str | int | float | dict) else value


def _unique(values: list) -> list:
    if len(set(values)) != len(values):
        raise ValueError(f"有重复的值 (repeated values): {values!r}")
    return [int(v) if float(v).is_integer() else v for v in values]


def _known_profile(name: str) -> str:
    if name not in PROFILES:
        raise ValueError(
            f"未知的步行速度 (unknown speed profile) {name!r}; 可选: {sorted(PROFILES)}"
        )
    return name


def _known_category(name: str) -> str:
    known = _known_categories()
    if name not in known:
        raise ValueError(f"未知的设施类别 (unknown category) {name!r}; 可选: {sorted(known)}")
    return name


def _known_coords(value):
    if value is None:
        raise ValueError(
            "缺少坐标系 (missing: declare the coordinate system): wgs84, gcj02 (高德/腾讯), "
            "bd09 (百度) 或 EPSG:xxxx"
        )
    from ..geo.crs import normalize_coords

    try:
        normalize_coords(value)
    except (ValueError, TypeError) as exc:
        raise ValueError(str(exc)) from None
    return value


Positive = Annotated[float, Gt(0), AllowInfNan(False), BeforeValidator(_number)]
NonNegative = Annotated[float, Ge(0), AllowInfNan(False), BeforeValidator(_number)]
#: Walking minutes and distances: the command line's ranges (``--minutes``, ``--metres``).
Minutes = Annotated[float, Gt(0), Le(120), AllowInfNan(False), BeforeValidator(_number)]
Metres = Annotated[float, Gt(0), Le(10_000), AllowInfNan(False), BeforeValidator(_number)]
Share = Annotated[float, Gt(0), Le(1), BeforeValidator(_number)]
Count = Annotated[int, Gt(0), BeforeValidator(_whole)]
Text = Annotated[str | None, BeforeValidator(_text)]
Profile = Annotated[str, AfterValidator(_known_profile)]
Category = Annotated[str, AfterValidator(_known_category)]
Thresholds = Annotated[list[Minutes], BeforeValidator(_as_list), AfterValidator(_unique)]
Distances = Annotated[list[Metres], BeforeValidator(_as_list), AfterValidator(_unique)]


class _Spec(BaseModel):
    """Unknown keys are errors (a misspelt key never passes silently)."""

    model_config = ConfigDict(extra="forbid")


# ----------------------------------------------------------------------------- street config
class BoundarySpec(_Spec):
    """A boundary file instead of the OSM relation."""

    file: Text = Field(None, description="GeoJSON/GPKG/SHP; relative to the config file")
    name_col: Text = None
    name: Text = Field(None, description="the feature to use (default: street)")


class NetworkSpec(_Spec):
    """Where the walking network comes from."""

    source: Literal["osm", "file"] = Field("osm", description="osm: download | file")
    file: Text = Field(None, description=".osm/.xml/.pbf/.graphml for source: file")


class OsmFacilities(_Spec):
    """Facilities from OpenStreetMap POIs, classified by their tags."""

    source: Literal["osm"]
    categories: list[Category] | None = Field(None, description="null = all run categories")
    label: Text = None


def _coords_required(schema: dict) -> None:
    schema["required"] = [*schema.get("required", []), "coords"]  # no default system


class FileFacilities(_Spec):
    """Facilities from a table (CSV/Excel) or vector file with a declared coordinate system."""

    model_config = ConfigDict(extra="forbid", json_schema_extra=_coords_required)

    source: Literal["file"] = "file"
    file: str = Field(description="CSV/Excel/GeoJSON file; ${LIFECIRCLE_DATA} is expanded")
    coords: str | int | None = Field(
        None,
        validate_default=True,
        description="coordinate system: wgs84 | gcj02 (高德/腾讯) | bd09 (百度) | EPSG:n",
    )
    x: Text = None
    y: Text = None
    type_col: Text = None
    name_col: Text = None
    address_col: Text = None
    label: Text = None
    rules: Text = Field(None, description="category-rules YAML (default categories.yaml)")
    category: Category | None = Field(None, description="category of rows without a known type")
    sheet: str | int | None = Field(None, description="Excel sheet or vector layer")
    swap_xy: StrictBool = Field(False, description="true: the x column holds latitudes")
    required: StrictBool = Field(True, description="false: skipped with a note when missing")

    _coords = field_validator("coords")(lambda cls, v: _known_coords(v))


def _facility_kind(value: Any) -> str | None:
    if isinstance(value, dict):
        return value.get("source", "file" if "file" in value else None)
    return getattr(value, "source", None)


FacilitySource = Annotated[
    Annotated[OsmFacilities, Tag("osm")] | Annotated[FileFacilities, Tag("file")],
    Discriminator(_facility_kind),
]


class PopulationSpec(_Spec):
    """Residents: counted polygons or a raster, and the 60+ share."""

    source: Literal["none", "file"] = Field("none", description="none: one per network node")
    file: Text = None
    coords: str | int | None = Field(
        None,
        description="coordinate system of a CSV/Excel table (required there, no default): "
        "wgs84 | gcj02 (高德/腾讯) | bd09 (百度) | EPSG:n; vector files and rasters use their own",
    )
    count_col: Text = "population"
    age_file: Text = Field(None, description="census age JSON (share of 60+ per district)")
    age_district: Text = Field(None, description="district in age_file (default: district)")
    share60: Share | None = Field(None, description="explicit 60+ share, overrides age_file")
    required: StrictBool = True

    _coords = field_validator("coords")(lambda cls, v: None if v is None else _known_coords(v))


class CandidatesSpec(_Spec):
    """Candidate sites of the siting from a table (CSV/Excel) or vector file, with a declared
    coordinate system (points picked on Amap are ``gcj02``)."""

    model_config = ConfigDict(extra="forbid", json_schema_extra=_coords_required)

    file: str = Field(description="CSV/Excel/GeoJSON file; relative to the config file")
    coords: str | int | None = Field(
        None,
        validate_default=True,
        description="coordinate system: wgs84 | gcj02 (高德/腾讯) | bd09 (百度) | EPSG:n",
    )
    x: Text = Field(None, description="longitude column (default: detected)")
    y: Text = Field(None, description="latitude column (default: detected)")
    name_col: Text = None
    sheet: str | int | None = Field(None, description="Excel sheet or vector layer")

    _coords = field_validator("coords")(lambda cls, v: _known_coords(v))


class SitingSpec(_Spec):
    """The siting question of the run."""

    category: Category = "elder_care"
    model: Literal["greedy", "mclp", "lscp", "pmedian"] = "greedy"
    new_sites: Count = 3
    minutes: Minutes = 15
    profile: Profile | None = Field(None, description="null = the main profile")
    candidates: CandidatesSpec | None = Field(
        None, description="candidate sites (a file); null = network nodes inside the boundary"
    )


class TargetSpec(_Spec):
    """One plan figure: the share of residents a category should reach within some minutes."""

    category: Category
    minutes: Minutes
    population_share: Share
    source: Text = None


class RunSettings(_Spec):
    """What a street run and a district run share: network, thresholds, facilities, population."""

    network: NetworkSpec = Field(default_factory=NetworkSpec)
    buffer_m: NonNegative | None = Field(None, description="null = reach of the largest threshold")
    profiles: Annotated[list[Profile], BeforeValidator(_as_list), Field(min_length=1)] = ["elderly"]
    minutes: Annotated[Thresholds, Field(min_length=1)] = [5, 10, 15]
    metres: Distances = Field(default_factory=list, description="distance thresholds (rings)")
    max_snap_m: Positive = 250.0
    categories: Annotated[list[Category], BeforeValidator(_as_list), Field(min_length=1)] = list(
        DEFAULT_CATEGORIES
    )
    facilities: Annotated[list[FacilitySource], BeforeValidator(_as_list), Field(min_length=1)] = (
        Field(default_factory=lambda: [OsmFacilities(source="osm")])
    )
    population: PopulationSpec = Field(default_factory=PopulationSpec)
    targets: list[TargetSpec] = Field(default_factory=list)
    buildings: Text = Field(
        None,
        description="building footprints (GeoJSON/GPKG/SHP/.pbf) or osm: residents by floor area",
    )
    population_total: Positive | None = Field(
        None, description="the street's residents, spread over the buildings by floor area"
    )
    compounds: Text = Field(
        None, description="居民区 polygons (file) or osm (named landuse=residential)"
    )
    capacity_col: Text = Field(None, description="facility capacity column for 2SFCA (床位)")
    access_category: Category = Field("elder_care", description="category of the 2SFCA scores")
    standard: Text = Field(None, description="gb50180, shanghai15 or a standard YAML: 达标率")
    plan: Text = Field(None, description="the plan's wording, for the report")
    notes: Text = None

    @field_validator("network", "population", "metres", "targets", mode="before")
    @classmethod
    def _null_is_default(cls, value, info):
        if value is None:
            return [] if info.field_name in ("metres", "targets") else {}
        return value


class RunConfig(RunSettings):
    """A street's run config (``data/streets/<街道>.yaml``) for ``lifecircle run``."""

    model_config = ConfigDict(
        extra="forbid",
        title="lifecircle run config",
    )

    street: Annotated[str, BeforeValidator(_text)] = Field(description="the sub-district (街道)")
    district: Text = None
    code: Text = Field(None, description="statistical code")
    osm_relation: Count | None = Field(None, description="OSM boundary relation id")
    boundary: BoundarySpec = Field(default_factory=BoundarySpec)
    corridors: Text = Field(None, description="corridor YAML (analysis/corridors.py)")
    siting: SitingSpec = Field(default_factory=SitingSpec)

    @field_validator("boundary", "siting", mode="before")
    @classmethod
    def _null_is_empty(cls, value):
        return {} if value is None else value


# ---------------------------------------------------------------------------- district config
class StreetSpec(_Spec):
    """One street of a district: its OSM boundary relation (online) or its feature's name."""

    name: Annotated[str, BeforeValidator(_text)] = Field(description="the street (街道/镇)")
    osm_relation: Count | None = Field(None, description="OSM boundary relation id")
    code: Text = Field(None, description="statistical code")


class StreetBoundaries(_Spec):
    """A boundaries file with one feature per street (offline)."""

    file: str = Field(description="GeoJSON/GPKG/SHP with many features; relative path ok")
    name_col: Text = Field(None, description="column of the street names (default: guessed)")


class DistrictBoundary(_Spec):
    """The district's polygon: every feature of ``street_boundaries`` mostly inside it is a street."""

    file: str = Field(description="GeoJSON/GPKG/SHP; relative path ok")
    name_col: Text = None
    name: Text = Field(None, description="the feature to use (default: district)")


class DistrictConfig(RunSettings):
    """A district's run config (``data/districts/<区>.yaml``): all its streets in one run."""

    model_config = ConfigDict(extra="forbid", title="lifecircle district config")

    district: Annotated[str, BeforeValidator(_text)] = Field(description="the district (区)")
    code: Text = Field(None, description="statistical code")
    streets: list[StreetSpec] = Field(
        default_factory=list,
        description="the streets; without street_boundaries each needs its osm_relation",
    )
    street_boundaries: StreetBoundaries | None = Field(
        None, description="offline: the streets' polygons (features named as in streets)"
    )
    district_boundary: DistrictBoundary | None = Field(
        None, description="streets = features of street_boundaries with ≥ half their area inside"
    )
    siting: SitingSpec | None = Field(None, description="null = no siting step")


#: Keys that make a YAML file a district config rather than a street config.
DISTRICT_KEYS = ("streets", "street_boundaries", "district_boundary")

#: JSON Schemas ``lifecircle schema NAME`` prints.
SCHEMAS: dict[str, type[BaseModel]] = {"run-config": RunConfig, "district-config": DistrictConfig}


def run_config_schema(name: str = "run-config") -> dict:
    """The JSON Schema of a config model (``run-config``) for editors and validators."""
    schema = SCHEMAS[name].model_json_schema()
    return {"$schema": "https://json-schema.org/draft/2020-12/schema", **schema}


# -------------------------------------------------------------------------------- errors
_ZH = {
    "missing": "缺少必填字段",
    "extra_forbidden": "未知字段（请检查拼写）",
    "greater_than": "必须大于 {gt}",
    "greater_than_equal": "必须大于或等于 {ge}",
    "finite_number": "必须是有限的数字",
    "less_than_equal": "必须小于或等于 {le}",
    "literal_error": "必须是 {expected} 之一",
    "string_type": "必须是文字",
    "bool_type": "必须是 true 或 false",
    "list_type": "必须是列表",
    "too_short": "不能为空",
    "model_type": "必须是映射 (key: value)",
    "model_attributes_type": "必须是映射 (key: value)",
    "dict_type": "必须是映射 (key: value)",
    "int_type": "必须是整数",
    "int_from_float": "必须是整数",
    "float_type": "必须是数字",
    "union_tag_invalid": "source 必须是 osm 或 file",
    "union_tag_not_found": "需要 source: osm 或 source: file",
}
_TAGS = {"osm", "file"}


def _field_path(loc: tuple, kind: str) -> str:
    """pydantic's ``loc`` as a path: ``("facilities", 0, "file", "coords")`` → ``facilities[0].coords``
    (the facilities' union tag after the index is not a field)."""
    parts: list[str] = []
    for k, item in enumerate(loc):
        if isinstance(item, int):
            parts.append(f"[{item}]")
        elif k and isinstance(loc[k - 1], int) and item in _TAGS and k + 1 < len(loc):
            continue
        else:
            parts.append(f".{item}" if parts else str(item))
    if kind.startswith("union_tag"):
        parts.append(".source")
    return "".join(parts) or "(file)"


def _reason(err: dict) -> str:
    kind = err["type"]
    msg = err["msg"].removeprefix("Value error, ")
    if kind == "value_error":
        return msg
    zh = _ZH.get(kind)
    if zh is None:
        return msg
    with contextlib.suppress(KeyError, IndexError):
        ctx = {
            k: int(v) if isinstance(v, float) and v.is_integer() else v
            for k, v in (err.get("ctx") or {}).items()
        }
        zh = zh.format(**ctx)
    shown = err.get("input")
    if kind in ("missing", "too_short") or isinstance(shown, dict):
        return f"{zh} ({msg})"
    return f"{zh} ({msg}; 输入 {_SHORT.repr(shown)})"


#: Shows a bad input value briefly: a YAML alias bomb (``[*a, *a, …]`` nested) would otherwise
#: be expanded into gigabytes of text.
_SHORT = reprlib.Repr()
_SHORT.maxlevel, _SHORT.maxlist, _SHORT.maxdict, _SHORT.maxstring = 2, 4, 4, 80


def _validation_error(file: Path, exc: ValidationError) -> RunConfigError:
    err = exc.errors(include_url=False)[0]
    return RunConfigError(file, _field_path(tuple(err["loc"]), err["type"]), _reason(err))


# -------------------------------------------------------------------------------- paths
_VAR = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)\}|\$([A-Za-z_][A-Za-z0-9_]*)")


class _Skipped(Exception):
    """An optional input file that is absent: the reason (Chinese) is noted, not raised."""


class _Paths:
    """Expands ``${VAR}``, resolves paths against the config's folder, checks they exist."""

    def __init__(self, file: Path):
        self.file = file
        self.notes: list[str] = []

    def fail(self, fld: str, reason: str):
        raise RunConfigError(self.file, fld, reason)

    def _find(self, value: str) -> Path:
        def sub(m):
            name = m.group(1) or m.group(2)
            if not os.environ.get(name):
                raise _Skipped(f"用到 ${name}，但它没有设置 (e.g. export {name}=../shared/data)")
            return os.environ[name]

        p = Path(_VAR.sub(sub, value.strip())).expanduser()
        if not p.is_absolute():
            p = (self.file.parent / p).resolve()
        if not p.is_file():
            raise _Skipped(f"文件不存在 (file not found): {p}")
        return p

    def required(self, fld: str, value: str | None) -> str | None:
        """Absolute path of an existing file (``None`` stays ``None``)."""
        if value is None:
            return None
        try:
            return str(self._find(value))
        except _Skipped as exc:
            self.fail(fld, str(exc))

    def optional(self, fld: str, value: str, required: bool, what: str) -> str | None:
        """Like :meth:`required`, but an optional source is skipped with a note."""
        try:
            return str(self._find(value))
        except _Skipped as exc:
            if required:
                self.fail(fld, str(exc))
            self.notes.append(f"{what} 已跳过（{fld}: {exc}）")
            return None


# -------------------------------------------------------------------------------- loading
def _raw(file: Path) -> dict:
    try:
        raw = yaml.safe_load(file.read_text(encoding="utf-8"))
    except yaml.YAMLError as exc:
        raise RunConfigError(file, "(file)", f"不是有效的 YAML (not valid YAML): {exc}") from None
    except UnicodeDecodeError as exc:
        raise RunConfigError(file, "(file)", f"不是 UTF-8 文本 (not UTF-8 text): {exc}") from None
    if raw is None:
        raise RunConfigError(file, "(file)", "文件是空的 (the file is empty)")
    if not isinstance(raw, dict):
        raise RunConfigError(file, "(file)", "必须是映射 (key: value)")
    return raw


def _read(file: Path, model: type[BaseModel] = RunConfig):
    raw = _raw(file)
    try:
        return model.model_validate(raw)
    except ValidationError as exc:
        raise _validation_error(file, exc) from None


def is_district_config(path: str | Path) -> bool:
    """True when the YAML file is a district config (it has ``streets`` or street boundaries)."""
    file = Path(path).expanduser().resolve()
    if not file.is_file():
        return False
    return any(k in _raw(file) for k in DISTRICT_KEYS)


def _check(cfg: RunSettings, ck: _Paths) -> None:
    """What one field alone cannot say: combinations of fields."""
    if isinstance(cfg, RunConfig) and cfg.boundary.file is None and cfg.osm_relation is None:
        ck.fail("osm_relation", "缺少街道边界: 给出 OSM 边界 relation 或 boundary.file")
    if cfg.network.source == "file" and not cfg.network.file:
        ck.fail("network.file", "network.source 是 file: 请写出 .osm/.pbf/.graphml 文件")
    if cfg.population.source == "file" and not cfg.population.file:
        ck.fail("population.file", "population.source 是 file: 请写出人口文件")
    _check_population_coords(cfg.population, ck)
    for p in cfg.profiles:
        for m in cfg.minutes:
            try:
                PROFILES[p].metres_for_minutes(m)
            except ValueError as exc:
                ck.fail("minutes", str(exc))
    cats = list(dict.fromkeys(cfg.categories))
    outside = f"不是本次分析的类别 {cats} 之一"
    for i, f in enumerate(cfg.facilities):
        if isinstance(f, OsmFacilities):
            for j, c in enumerate(f.categories or []):
                if c not in cats:
                    ck.fail(f"facilities[{i}].categories[{j}]", f"{c!r} {outside}")
        elif f.category is not None and f.category not in cats:
            ck.fail(f"facilities[{i}].category", f"{f.category!r} {outside}")
    if cfg.siting is not None and cfg.siting.category not in cats:
        ck.fail("siting.category", f"{cfg.siting.category!r} {outside}")


def _check_population_coords(pop: PopulationSpec, ck: _Paths) -> None:
    """A population table (CSV/Excel) must declare its coordinate system (no default)."""
    from ..geo.crs import missing_coords_message
    from ..geo.population import population_needs_coords

    if pop.source == "file" and pop.coords is None and population_needs_coords(pop.file):
        ck.fail("population.coords", missing_coords_message(f"人口表 {pop.file}", "coords:"))


def _facilities(cfg: RunConfig, ck: _Paths) -> list[dict]:
    out = []
    for i, f in enumerate(cfg.facilities):
        fld = f"facilities[{i}]"
        if isinstance(f, OsmFacilities):
            out.append({"source": "osm", "categories": f.categories, "label": f.label})
            continue
        rules = ck.required(f"{fld}.rules", f.rules)
        what = f"设施数据 {f.label or Path(f.file).name}"
        resolved = ck.optional(f"{fld}.file", f.file, f.required, what)
        if resolved is not None:
            out.append(f.model_dump() | {"file": resolved, "rules": rules})
    if not out:
        ck.notes.append("没有可用的设施数据源")
    return out


def _population(cfg: RunConfig, ck: _Paths) -> dict:
    pop = cfg.population
    out = pop.model_dump() | {"file": None, "age_file": None}
    out["count_col"] = pop.count_col or "population"
    out["age_district"] = pop.age_district or cfg.district
    if pop.source == "file":
        out["file"] = ck.optional("population.file", pop.file, pop.required, "人口数据")
        if out["file"] is None:
            out["source"] = "none"
            ck.notes.append("人口数据缺失：按每个路网节点权重 1 计算")
    if pop.age_file:
        out["age_file"] = ck.optional(
            "population.age_file", pop.age_file, pop.required, "年龄结构数据"
        )
        if out["age_file"] and not out["age_district"]:
            ck.fail("population.age_district", "age_file 需要 age_district（或 district）")
    return out


def _residents(cfg: RunConfig, ck: _Paths) -> dict | None:
    """Buildings, 居民区, capacity and standard (``None`` when the config asks for none)."""
    keys = ("buildings", "population_total", "compounds", "capacity_col", "standard")
    if all(getattr(cfg, k) is None for k in keys):
        return None
    if cfg.population_total is not None and cfg.buildings is None:
        ck.fail(
            "population_total", "population_total 需要 buildings（人口按住宅建筑面积分配到建筑）"
        )

    def where(fld: str, value):
        return value if value in (None, "osm") else ck.required(fld, value)

    return {
        "buildings": where("buildings", cfg.buildings),
        "population_total": cfg.population_total,
        "compounds": where("compounds", cfg.compounds),
        "capacity_col": cfg.capacity_col,
        "access_category": cfg.access_category,
        "standard": cfg.standard,
    }


def _whole_numbers(values):
    return [int(v) if float(v).is_integer() else v for v in values]


def load_run_config(path: str | Path) -> dict:
    """Read, complete and validate a run config (:class:`RunConfig`).

    Parameters
    ----------
    path : str or Path
        A YAML file (see the module docstring), e.g. ``street_config_file("石泉路街道")``.

    Returns
    -------
    dict
        Every key of the schema, defaults filled in, paths absolute (``None`` when absent or when
        an optional source was skipped), plus ``config_file``, ``notes_text`` (the config's
        ``notes``) and ``notes`` (what was skipped, in Chinese). Facility sources skipped as
        optional are removed from ``facilities``.

    Raises
    ------
    RunConfigError
        With ``file``, ``field`` (pydantic's ``loc`` as a path, e.g. ``facilities[1].coords``)
        and ``reason`` (Chinese, with pydantic's English message).
    FileNotFoundError
        When the config file itself does not exist.
    """
    file = Path(path).expanduser().resolve()
    if not file.is_file():
        raise FileNotFoundError(f"{file}: run config not found")
    cfg = _read(file)
    ck = _Paths(file)
    _check(cfg, ck)
    out = {
        "config_file": str(file),
        "street": cfg.street,
        "district": cfg.district,
        "code": cfg.code,
        "osm_relation": cfg.osm_relation,
        "boundary": {
            "file": ck.required("boundary.file", cfg.boundary.file),
            "name_col": cfg.boundary.name_col,
            "name": cfg.boundary.name or cfg.street,
        },
        **_settings(cfg, ck),
        "corridors": ck.required("corridors", cfg.corridors),
    }
    out["notes"] = ck.notes
    return out


def _siting(cfg: RunSettings, ck: _Paths) -> dict | None:
    if getattr(cfg, "siting", None) is None:
        return None
    siting = cfg.siting.model_dump()
    siting["profile"] = siting["profile"] or cfg.profiles[0]
    siting["minutes"] = _whole_numbers([siting["minutes"]])[0]
    if siting["candidates"] is not None:
        cands = siting["candidates"]
        cands["file"] = ck.required("siting.candidates.file", cands["file"])
    return siting


def _settings(cfg: RunSettings, ck: _Paths) -> dict:
    """The shared run settings as the dict :func:`load_run_config` returns."""
    return {
        "plan": cfg.plan,
        "notes_text": cfg.notes,
        "network": {
            "source": cfg.network.source,
            "file": ck.required("network.file", cfg.network.file),
        },
        "buffer_m": cfg.buffer_m,
        "max_snap_m": cfg.max_snap_m,
        "profiles": list(dict.fromkeys(cfg.profiles)),
        "minutes": list(cfg.minutes),
        "metres": list(cfg.metres),
        "categories": list(dict.fromkeys(cfg.categories)),
        "facilities": _facilities(cfg, ck),
        "population": _population(cfg, ck),
        "siting": _siting(cfg, ck),
        "targets": [t.model_dump() for t in cfg.targets],
        "residents": _residents(cfg, ck),
    }


def load_district_config(path: str | Path) -> dict:
    """Read, complete and validate a district config (:class:`DistrictConfig`).

    Returns
    -------
    dict
        The keys of :func:`load_run_config` (``street`` is the district's name, ``boundary``
        and ``osm_relation`` empty, ``corridors`` ``None``, ``siting`` ``None`` unless given)
        plus ``streets`` (list of ``{name, osm_relation, code}``), ``street_boundaries``
        (``{file, name_col}`` or ``None``) and ``district_boundary`` (``{file, name_col, name}``
        or ``None``), paths absolute.

    Raises
    ------
    RunConfigError
        A field that cannot be used; a district without streets or street boundaries, a street
        with neither an OSM relation nor a boundaries file.
    """
    file = Path(path).expanduser().resolve()
    if not file.is_file():
        raise FileNotFoundError(f"{file}: district config not found")
    cfg = _read(file, DistrictConfig)
    ck = _Paths(file)
    _check(cfg, ck)
    sb, db = cfg.street_boundaries, cfg.district_boundary
    if sb is None:
        if not cfg.streets:
            ck.fail(
                "streets", "缺少街道: 列出 streets（OSM relation）或给出 street_boundaries 文件"
            )
        for i, st in enumerate(cfg.streets):
            if st.osm_relation is None:
                ck.fail(f"streets[{i}].osm_relation", f"{st.name}: 没有 street_boundaries 时必填")
    if db is not None and sb is None:
        ck.fail("district_boundary", "district_boundary 需要 street_boundaries（从中选出街道）")
    names = [st.name for st in cfg.streets]
    if len(set(names)) != len(names):
        ck.fail("streets", f"街道名称重复: {names}")
    out = {
        "config_file": str(file),
        "street": cfg.district,
        "district": cfg.district,
        "code": cfg.code,
        "osm_relation": None,
        "boundary": {"file": None, "name_col": None, "name": None},
        **_settings(cfg, ck),
        "corridors": None,
        "streets": [st.model_dump() for st in cfg.streets],
        "street_boundaries": None
        if sb is None
        else {"file": ck.required("street_boundaries.file", sb.file), "name_col": sb.name_col},
        "district_boundary": None
        if db is None
        else {
            "file": ck.required("district_boundary.file", db.file),
            "name_col": db.name_col,
            "name": db.name or cfg.district,
        },
    }
    out["notes"] = ck.notes
    return out
