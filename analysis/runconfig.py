"""Run configurations: one YAML file per street for ``lifecircle run --config FILE``.

A run config says which street to analyse and with which inputs; :func:`load_run_config` reads
it, fills the defaults, expands ``${LIFECIRCLE_DATA}`` (and any other ``${VAR}``), resolves
relative paths against the config file's folder and validates every field, raising
:class:`RunConfigError` naming the file and the field.

Schema (defaults shown; ``data/streets/*.yaml`` are complete examples)
---------------------------------------------------------------------
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
    categories: [elder_care, fitness, parking, health, culture, market]
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
    targets: []                     # plan figures: {category, minutes, population_share, source}
    plan: null                      # the plan's wording, for the report
    notes: null                     # free text (returned as ``notes_text``)
"""

from __future__ import annotations

import copy
import os
import re
from pathlib import Path

import yaml

from ..settings import PACKAGE_DATA, PROFILES

__all__ = [
    "RunConfigError",
    "load_run_config",
    "street_config_file",
    "KNOWN_CATEGORIES",
    "SITING_MODELS",
]

#: Facility categories the run accepts (extended by ``geo.facilities.load_categories`` if any).
KNOWN_CATEGORIES = (
    "elder_care",
    "fitness",
    "parking",
    "health",
    "culture",
    "market",
    "education",
    "park",
    "other",
)

#: Siting models of ``lifecircle site``.
SITING_MODELS = ("greedy", "mclp", "lscp", "pmedian")

_TOP_KEYS = {
    "street",
    "district",
    "code",
    "osm_relation",
    "boundary",
    "network",
    "buffer_m",
    "profiles",
    "minutes",
    "metres",
    "max_snap_m",
    "categories",
    "facilities",
    "population",
    "corridors",
    "siting",
    "targets",
    "plan",
    "notes",
}

_DEFAULTS: dict = {
    "district": None,
    "code": None,
    "osm_relation": None,
    "boundary": {"file": None, "name_col": None, "name": None},
    "network": {"source": "osm", "file": None},
    "buffer_m": None,
    "profiles": ["elderly"],
    "minutes": [5, 10, 15],
    "metres": [],
    "max_snap_m": 250.0,
    "categories": ["elder_care", "fitness", "parking", "health", "culture", "market"],
    "facilities": [{"source": "osm", "categories": None}],
    "population": {
        "source": "none",
        "file": None,
        "count_col": "population",
        "age_file": None,
        "age_district": None,
        "share60": None,
        "required": True,
    },
    "corridors": None,
    "siting": {
        "category": "elder_care",
        "model": "greedy",
        "new_sites": 3,
        "minutes": 15,
        "profile": None,
    },
    "targets": [],
    "plan": None,
    "notes": None,
}

_FACILITY_FILE_KEYS = {
    "source",
    "file",
    "coords",
    "x",
    "y",
    "type_col",
    "name_col",
    "address_col",
    "category",
    "rules",
    "sheet",
    "required",
    "label",
    "swap_xy",
}
_FACILITY_OSM_KEYS = {"source", "categories", "label"}


class RunConfigError(ValueError):
    """A run config that cannot be used; names the file and the field."""

    def __init__(self, file: str | Path, field_: str, reason: str):
        self.file = str(file)
        self.field = field_
        self.reason = reason
        super().__init__(f"{self.file}: field {field_!r}: {reason}")


def street_config_file(street: str) -> Path:
    """Path of the packaged run config of a street (``data/streets/<street>.yaml``)."""
    return PACKAGE_DATA / "streets" / f"{street}.yaml"


def _known_categories() -> set[str]:
    known = set(KNOWN_CATEGORIES)
    try:  # the facilities module may define more
        from ..geo.facilities import load_categories
    except ImportError:
        return known
    try:
        cats = load_categories()
    except Exception:  # noqa: BLE001 - a broken category file must not hide config errors
        return known
    labels = getattr(cats, "labels", cats)
    if isinstance(labels, dict):
        known |= {str(k) for k in labels}
    return known


_VAR = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)\}|\$([A-Za-z_][A-Za-z0-9_]*)")


class _Checker:
    def __init__(self, file: Path):
        self.file = file
        self.notes: list[str] = []

    def fail(self, fld: str, reason: str):
        raise RunConfigError(self.file, fld, reason)

    def mapping(self, fld, value, keys):
        if not isinstance(value, dict):
            self.fail(fld, f"must be a mapping, not {type(value).__name__} ({value!r})")
        unknown = sorted(set(value) - set(keys))
        if unknown:
            self.fail(
                f"{fld}.{unknown[0]}" if fld else unknown[0],
                f"unknown key; allowed: {sorted(keys)}",
            )
        return value

    def text(self, fld, value, required=False):
        if value is None:
            if required:
                self.fail(fld, "missing")
            return None
        if isinstance(value, bool) or not isinstance(value, str | int):
            self.fail(fld, f"must be a text, not {value!r}")
        value = str(value).strip()
        if required and not value:
            self.fail(fld, "empty")
        return value or None

    def number(self, fld, value, allow_none=False, integer=False, minimum=0.0, strict=True):
        if value is None and allow_none:
            return None
        if isinstance(value, bool) or not isinstance(value, int | float):
            self.fail(fld, f"must be a number, not {value!r}")
        if integer and int(value) != value:
            self.fail(fld, f"must be a whole number, not {value!r}")
        if (strict and not value > minimum) or (not strict and value < minimum):
            self.fail(fld, f"must be {'>' if strict else '>='} {minimum:g}, not {value!r}")
        return int(value) if integer else float(value)

    def numbers(self, fld, value, allow_empty=False):
        if isinstance(value, int | float) and not isinstance(value, bool):
            value = [value]
        if not isinstance(value, list):
            self.fail(fld, f"must be a list of numbers, not {value!r}")
        if not value and not allow_empty:
            self.fail(fld, "must not be empty")
        out = [self.number(f"{fld}[{i}]", v) for i, v in enumerate(value)]
        if len(set(out)) != len(out):
            self.fail(fld, f"repeated values in {value!r}")
        return [int(v) if float(v).is_integer() else v for v in out]

    def expand(self, fld, value: str) -> str:
        def sub(m):
            name = m.group(1) or m.group(2)
            if name not in os.environ or not os.environ[name]:
                raise _MissingVar(name)
            return os.environ[name]

        try:
            return _VAR.sub(sub, value)
        except _MissingVar as exc:
            raise _MissingVar(exc.args[0], fld) from None

    def path(self, fld, value, optional=False) -> str | None:
        """Absolute path of an existing file; ``optional`` raises the internal markers."""
        if value is None:
            return None
        if not isinstance(value, str) or not value.strip():
            self.fail(fld, f"must be a file path, not {value!r}")
        try:
            p = Path(self.expand(fld, value.strip())).expanduser()
            if not p.is_absolute():
                p = (self.file.parent / p).resolve()
            if not p.is_file():
                raise _MissingFile(str(p), fld)
        except _MissingVar as exc:
            if optional:
                raise
            self.fail(fld, _var_reason(exc.args[0]))
        except _MissingFile as exc:
            if optional:
                raise
            self.fail(fld, f"file not found: {exc.args[0]}")
        return str(p)


def _var_reason(name: str) -> str:
    return f"uses ${name}, which is not set (e.g. export {name}=../shared/data)"


class _MissingVar(Exception):
    def __init__(self, name, fld=None):
        super().__init__(name, fld)


class _MissingFile(Exception):
    def __init__(self, path, fld):
        super().__init__(path, fld)


def _optional_path(ck: _Checker, fld: str, value, required: bool, what: str):
    """Resolve a path; for optional sources return None with a note instead of failing."""
    try:
        return ck.path(fld, value, optional=True)
    except _MissingVar as exc:
        reason = _var_reason(exc.args[0])
    except _MissingFile as exc:
        reason = f"file not found: {exc.args[0]}"
    if required:
        ck.fail(fld, reason)
    ck.notes.append(f"{what} 已跳过（{fld}: {reason}）")
    return None


def load_run_config(path: str | Path) -> dict:
    """Read, complete and validate a run config.

    Parameters
    ----------
    path : str or Path
        A YAML file (see the module docstring), e.g. ``street_config_file("石泉路街道")``.

    Returns
    -------
    dict
        Every key of the schema, defaults filled in, paths absolute (``None`` when absent or when
        an optional source was skipped), plus ``config_file`` and ``notes`` (what was skipped,
        in Chinese). Facility sources skipped as optional are removed from ``facilities``.

    Raises
    ------
    RunConfigError
        With ``file``, ``field`` (e.g. ``facilities[1].coords``) and ``reason``.
    FileNotFoundError
        When the config file itself does not exist.
    """
    file = Path(path).expanduser().resolve()
    if not file.is_file():
        raise FileNotFoundError(f"{file}: run config not found")
    ck = _Checker(file)
    try:
        raw = yaml.safe_load(file.read_text(encoding="utf-8"))
    except yaml.YAMLError as exc:
        raise RunConfigError(file, "(file)", f"not valid YAML: {exc}") from None
    except UnicodeDecodeError as exc:
        raise RunConfigError(file, "(file)", f"not UTF-8 text: {exc}") from None
    if raw is None:
        ck.fail("(file)", "the file is empty")
    ck.mapping("", raw, _TOP_KEYS)
    cfg = copy.deepcopy(_DEFAULTS)
    cfg.update({k: v for k, v in raw.items()})

    out: dict = {"config_file": str(file)}
    out["street"] = ck.text("street", cfg.get("street"), required=True)
    out["district"] = ck.text("district", cfg["district"])
    out["code"] = ck.text("code", cfg["code"])
    out["plan"] = ck.text("plan", cfg["plan"])
    out["notes_text"] = ck.text("notes", cfg["notes"])
    rel = cfg["osm_relation"]
    if rel is not None:
        rel = ck.number("osm_relation", rel, integer=True)
    out["osm_relation"] = rel

    # boundary
    b = dict(_DEFAULTS["boundary"])
    b.update(ck.mapping("boundary", cfg["boundary"] or {}, _DEFAULTS["boundary"].keys()))
    out["boundary"] = {
        "file": ck.path("boundary.file", b["file"]) if b["file"] else None,
        "name_col": ck.text("boundary.name_col", b["name_col"]),
        "name": ck.text("boundary.name", b["name"]) or out["street"],
    }
    if out["boundary"]["file"] is None and rel is None:
        ck.fail("osm_relation", "give the street's OSM boundary relation or boundary.file")

    # network
    n = dict(_DEFAULTS["network"])
    n.update(ck.mapping("network", cfg["network"] or {}, _DEFAULTS["network"].keys()))
    if n["source"] not in ("osm", "file"):
        ck.fail("network.source", f"must be osm or file, not {n['source']!r}")
    if n["source"] == "file" and not n["file"]:
        ck.fail("network.file", "network.source is file: name the .osm/.pbf/.graphml file")
    out["network"] = {
        "source": n["source"],
        "file": ck.path("network.file", n["file"]) if n["file"] else None,
    }
    out["buffer_m"] = ck.number("buffer_m", cfg["buffer_m"], allow_none=True, strict=False)
    out["max_snap_m"] = ck.number("max_snap_m", cfg["max_snap_m"])

    # thresholds and profiles
    profiles = cfg["profiles"]
    if isinstance(profiles, str):
        profiles = [profiles]
    if not isinstance(profiles, list) or not profiles:
        ck.fail("profiles", f"must be a non-empty list of {sorted(PROFILES)}")
    for i, p in enumerate(profiles):
        if p not in PROFILES:
            ck.fail(f"profiles[{i}]", f"unknown speed profile {p!r}; known: {sorted(PROFILES)}")
    out["profiles"] = list(dict.fromkeys(profiles))
    out["minutes"] = ck.numbers("minutes", cfg["minutes"])
    out["metres"] = ck.numbers("metres", cfg["metres"] or [], allow_empty=True)
    for p in out["profiles"]:
        prof = PROFILES[p]
        for m in out["minutes"]:
            try:
                prof.metres_for_minutes(m)
            except ValueError as exc:
                ck.fail("minutes", str(exc))

    # categories
    known = _known_categories()
    cats = cfg["categories"]
    if isinstance(cats, str):
        cats = [cats]
    if not isinstance(cats, list) or not cats:
        ck.fail("categories", "must be a non-empty list of categories")
    for i, c in enumerate(cats):
        if c not in known:
            ck.fail(f"categories[{i}]", f"unknown category {c!r}; known: {sorted(known)}")
    out["categories"] = list(dict.fromkeys(cats))

    # facilities
    facs = cfg["facilities"]
    if isinstance(facs, dict):
        facs = [facs]
    if not isinstance(facs, list) or not facs:
        ck.fail("facilities", "list at least one facility source (source: osm or source: file)")
    out["facilities"] = []
    for i, f in enumerate(facs):
        fld = f"facilities[{i}]"
        if not isinstance(f, dict):
            ck.fail(fld, f"must be a mapping with 'source', not {f!r}")
        src = f.get("source", "file" if "file" in f else None)
        if src not in ("osm", "file"):
            ck.fail(f"{fld}.source", f"must be osm or file, not {src!r}")
        if src == "osm":
            ck.mapping(fld, f, _FACILITY_OSM_KEYS)
            sub = f.get("categories")
            if sub is not None:
                if not isinstance(sub, list):
                    ck.fail(f"{fld}.categories", "must be a list of categories or null")
                for j, c in enumerate(sub):
                    if c not in out["categories"]:
                        ck.fail(
                            f"{fld}.categories[{j}]",
                            f"{c!r} is not one of the run's categories {out['categories']}",
                        )
            out["facilities"].append(
                {
                    "source": "osm",
                    "categories": sub,
                    "label": ck.text(f"{fld}.label", f.get("label")),
                }
            )
            continue
        ck.mapping(fld, f, _FACILITY_FILE_KEYS)
        required = f.get("required", True)
        if not isinstance(required, bool):
            ck.fail(f"{fld}.required", f"must be true or false, not {required!r}")
        if not f.get("file"):
            ck.fail(f"{fld}.file", "missing: name the CSV/Excel/GeoJSON file")
        coords = f.get("coords")
        if coords is None:
            ck.fail(
                f"{fld}.coords",
                "缺少坐标系 (missing: declare the coordinate system): wgs84, gcj02 (高德/腾讯), "
                "bd09 (百度) 或 EPSG:xxxx",
            )
        try:
            from ..geo.crs import normalize_coords

            normalize_coords(coords)
        except (ValueError, TypeError) as exc:
            ck.fail(f"{fld}.coords", str(exc))
        category = f.get("category")
        if category is not None and category not in out["categories"]:
            ck.fail(
                f"{fld}.category",
                f"{category!r} is not one of the run's categories {out['categories']}",
            )
        rules = ck.path(f"{fld}.rules", f.get("rules")) if f.get("rules") else None
        resolved = _optional_path(
            ck,
            f"{fld}.file",
            f["file"],
            required,
            f"设施数据 {f.get('label') or Path(str(f['file'])).name}",
        )
        if resolved is None:
            continue
        entry = {k: f.get(k) for k in _FACILITY_FILE_KEYS}
        entry.update(
            {
                "source": "file",
                "file": resolved,
                "required": required,
                "coords": coords,
                "rules": rules,
            }
        )
        for col in ("x", "y", "type_col", "name_col", "address_col", "label"):
            entry[col] = ck.text(f"{fld}.{col}", entry[col])
        entry["swap_xy"] = bool(entry.get("swap_xy") or False)
        out["facilities"].append(entry)
    if not out["facilities"]:
        ck.notes.append("没有可用的设施数据源")

    # population
    pop = dict(_DEFAULTS["population"])
    pop.update(ck.mapping("population", cfg["population"] or {}, _DEFAULTS["population"].keys()))
    if pop["source"] not in ("none", "file"):
        ck.fail("population.source", f"must be file or none, not {pop['source']!r}")
    if not isinstance(pop["required"], bool):
        ck.fail("population.required", f"must be true or false, not {pop['required']!r}")
    out_pop = {
        "source": pop["source"],
        "file": None,
        "count_col": ck.text("population.count_col", pop["count_col"]) or "population",
        "age_file": None,
        "age_district": ck.text("population.age_district", pop["age_district"]) or out["district"],
        "share60": None,
        "required": pop["required"],
    }
    if pop["share60"] is not None:
        s = ck.number("population.share60", pop["share60"])
        if s > 1:
            ck.fail("population.share60", f"a share between 0 and 1, not {s!r}")
        out_pop["share60"] = s
    if pop["source"] == "file":
        if not pop["file"]:
            ck.fail("population.file", "population.source is file: name the file")
        out_pop["file"] = _optional_path(
            ck, "population.file", pop["file"], pop["required"], "人口数据"
        )
        if out_pop["file"] is None:
            out_pop["source"] = "none"
            ck.notes.append("人口数据缺失：按每个路网节点权重 1 计算")
    if pop["age_file"]:
        out_pop["age_file"] = _optional_path(
            ck, "population.age_file", pop["age_file"], pop["required"], "年龄结构数据"
        )
        if out_pop["age_file"] and not out_pop["age_district"]:
            ck.fail("population.age_district", "age_file needs age_district (or district)")
    out["population"] = out_pop

    # corridors
    if cfg["corridors"]:
        out["corridors"] = ck.path("corridors", cfg["corridors"])
    else:
        out["corridors"] = None

    # siting
    s = dict(_DEFAULTS["siting"])
    s.update(ck.mapping("siting", cfg["siting"] or {}, _DEFAULTS["siting"].keys()))
    if s["category"] not in out["categories"]:
        ck.fail(
            "siting.category",
            f"{s['category']!r} is not one of the run's categories {out['categories']}",
        )
    if s["model"] not in SITING_MODELS:
        ck.fail("siting.model", f"must be one of {list(SITING_MODELS)}, not {s['model']!r}")
    s["new_sites"] = ck.number("siting.new_sites", s["new_sites"], integer=True)
    s["minutes"] = ck.number("siting.minutes", s["minutes"])
    if s["profile"] is None:
        s["profile"] = out["profiles"][0]
    elif s["profile"] not in PROFILES:
        ck.fail("siting.profile", f"unknown speed profile {s['profile']!r}")
    if float(s["minutes"]).is_integer():
        s["minutes"] = int(s["minutes"])
    out["siting"] = s

    # plan targets
    targets = cfg["targets"] or []
    if not isinstance(targets, list):
        ck.fail("targets", "must be a list of {category, minutes, population_share}")
    out["targets"] = []
    for i, t in enumerate(targets):
        fld = f"targets[{i}]"
        ck.mapping(fld, t, {"category", "minutes", "population_share", "source"})
        if t.get("category") not in known:
            ck.fail(f"{fld}.category", f"unknown category {t.get('category')!r}")
        share = ck.number(f"{fld}.population_share", t.get("population_share"))
        if share > 1:
            ck.fail(f"{fld}.population_share", f"a share between 0 and 1, not {share!r}")
        out["targets"].append(
            {
                "category": t["category"],
                "minutes": ck.number(f"{fld}.minutes", t.get("minutes")),
                "population_share": share,
                "source": ck.text(f"{fld}.source", t.get("source")),
            }
        )
    out["notes"] = ck.notes
    return out
