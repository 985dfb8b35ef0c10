"""Planned walking corridors: road-name sequences resolved on a walking network.

A 街道 plan names its walking corridors (慢行环, 轴线, 主题街区) as sequences of road names, e.g.
石泉路街道's 慢行主环 铜川路-兰田路-华池路-管弄路-石泉路-真如港-铜川路. This module reads those plans
from YAML (``data/corridors/<street>.yaml``), turns each into lines on a :class:`WalkNetwork`
and reports what could not be matched, where the line has gaps, how long it is and whom it serves.

YAML schema
-----------
.. code-block:: yaml

    street: 甘泉路街道              # sub-district the plan belongs to
    plan: 十字聚心，一环贯通          # the plan's own title
    source: 甘泉路街道“十四五”规划 …   # where the wording comes from
    defaults:                       # optional; values shown are the built-in defaults
      profile: elderly              # speed profile of the coverage role
      minutes: 5                    # coverage role: population within this walk of the corridor
      gap_m: 100                    # connections longer than this are gaps
      unnamed_m: 30                 # ... and so are connections with more unnamed street than this
    corridors:
      - id: ring                    # optional, unique; default c1, c2, ...
        name: 环形慢行通道            # required: what planners call it
        kind: ring                  # ring | axis | themed | gateway
        theme: 一环贯通              # optional
        roads:                      # road names in walking order; [] = placeholder
          - 新村路
          - name: 绿地联通通道         # a planned link with no street of its own:
            link: true              # the shortest connection of its neighbours, not a gap
          - name: 真如港              # a creek: follow its bank path
            aliases: [真如港滨河步道]  # other names of the same way
            pattern: "真如港.*步道"   # regular expression on edge names
            along_waterway: 真如港    # also footways/paths within waterway_m of this waterway
            waterway_m: 60
            highway: [footway, path]  # highway classes for along_waterway matches
          - {name: 甘泉路, from: 黄陵路, to: 宜川路}   # a stretch: first/last road of an open line
        geojson: drawn.geojson      # optional: a user-drawn line replacing the roads
        at: junctions               # gateways only: junctions | boundary

Kinds: ``ring`` closes back to its first road (a last road equal to the first is dropped);
``axis`` and ``themed`` are open lines; ``gateway`` gives points where each pair of its roads
meets (``at: junctions``) or where its roads cross the street boundary (``at: boundary``).

Resolution
----------
Each road's edges are those whose name is the road's name or an alias, or matches its pattern
(or, with ``along_waterway``, walkable paths beside that waterway). Consecutive roads meet at a
shared node or, failing that, are joined by the shortest walk between them (the *connection*).
A road's own part runs between its junctions with the previous and next road, along the shortest
path that prefers the road: edges not named the road weigh ``off_road_factor`` times their
length. Open lines start and end at the far ends of their first and last road (or at the
``from``/``to`` cross streets). Unmatched names are skipped and reported; connections longer than
``gap_m`` or with more than ``unnamed_m`` of unnamed street are reported as gaps, and so are
stretches of more than ``gap_m`` where a road's part leaves the road.

Lengths are in metres in the network's metric CRS; edges used twice count once. The coverage
role is the demand (``pop``/``pop60`` of network nodes, see
:func:`lifecircle.geo.population.demand_from_network`; one per node when no demand is given)
within ``minutes`` of any node of the corridor at the profile's speed: one multi-source search
(:func:`lifecircle.geo.snap.multi_source_distances`).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely
import yaml
from scipy import sparse
from scipy.sparse import csgraph

from ..geo.network import WalkNetwork
from ..geo.snap import multi_source_distances, snap_points
from ..settings import PACKAGE_DATA, PROFILES, WGS84, get_profile, threshold_cost

__all__ = [
    "KINDS",
    "CorridorConfigError",
    "RoadSpec",
    "CorridorSpec",
    "CorridorPlan",
    "Gap",
    "CorridorReport",
    "CorridorResult",
    "load_corridors",
    "corridor_file",
    "resolve_corridor",
    "resolve_corridors",
    "corridor_coverage",
]

#: Corridor kinds and their Chinese labels.
KINDS: dict[str, str] = {"ring": "环线", "axis": "轴线", "themed": "主题街", "gateway": "门户节点"}

_STATUS_ZH = {
    "ok": "完整",
    "partial": "有断点或未匹配",
    "unresolved": "未能匹配",
    "placeholder": "待指定道路",
    "drawn": "手绘",
}

#: Highway classes that count as a bank path along a waterway by default.
BANK_HIGHWAYS = (
    "footway",
    "path",
    "pedestrian",
    "cycleway",
    "living_street",
    "service",
    "track",
    "steps",
    "residential",
    "unclassified",
)

_DEFAULTS = {"profile": "elderly", "minutes": 5.0, "gap_m": 100.0, "unnamed_m": 30.0}

#: Empty output frame columns.
LINE_COLUMNS = [
    "corridor_id",
    "corridor",
    "kind",
    "theme",
    "part",
    "role",
    "from_road",
    "to_road",
    "length_m",
    "gap",
    "geometry",
]


class CorridorConfigError(ValueError):
    """A corridor YAML file that cannot be used; names the file and the field."""

    def __init__(self, file: str | Path, field_: str, reason: str):
        self.file = str(file)
        self.field = field_
        self.reason = reason
        super().__init__(f"{self.file}: field {field_!r}: {reason}")


# ---------------------------------------------------------------------------------------- specs
@dataclass(frozen=True)
class RoadSpec:
    """One road of a corridor and how to recognise its edges.

    Attributes
    ----------
    name : str
        The road name as the plan writes it.
    aliases : tuple of str
        Other exact names of the same way (e.g. a named river-bank path).
    pattern : str or None
        Regular expression searched in edge names.
    along_waterway : str or None
        Name (regular expression) of a waterway: walkable edges of a ``highway`` class whose
        midpoint lies within ``waterway_m`` of it also belong to the road. Needs waterway lines
        passed to the resolver.
    waterway_m : float
    highway : tuple of str
        Highway classes eligible for ``along_waterway`` matches.
    link : bool
        A planned link with no street of its own: its neighbours are joined by their shortest
        connection, which is reported as a link rather than a gap.
    from_road, to_road : str or None
        Cross streets bounding the stretch (first/last road of an open corridor).
    note : str or None
    """

    name: str
    aliases: tuple[str, ...] = ()
    pattern: str | None = None
    along_waterway: str | None = None
    waterway_m: float = 60.0
    highway: tuple[str, ...] = BANK_HIGHWAYS
    link: bool = False
    from_road: str | None = None
    to_road: str | None = None
    note: str | None = None

    @property
    def names(self) -> tuple[str, ...]:
        return (_norm(self.name),) + tuple(_norm(a) for a in self.aliases)


@dataclass(frozen=True)
class CorridorSpec:
    """One planned corridor (see the module docstring for the YAML form)."""

    name: str
    kind: str
    roads: tuple[RoadSpec, ...] = ()
    id: str = ""
    theme: str | None = None
    geojson: Path | None = None
    at: str = "junctions"
    profile: str = _DEFAULTS["profile"]
    minutes: float = _DEFAULTS["minutes"]
    gap_m: float = _DEFAULTS["gap_m"]
    unnamed_m: float = _DEFAULTS["unnamed_m"]
    description: str | None = None
    street: str | None = None

    @property
    def is_placeholder(self) -> bool:
        return not self.roads and self.geojson is None


@dataclass
class CorridorPlan:
    """A street's corridor file: its corridors and where they come from."""

    street: str | None
    plan: str | None
    source: str | None
    corridors: list[CorridorSpec]
    file: str = ""
    notes: list[str] = field(default_factory=list)

    def __iter__(self):
        return iter(self.corridors)

    def __len__(self) -> int:
        return len(self.corridors)


# ---------------------------------------------------------------------------------------- loading
def _norm(name) -> str:
    """Normalise a road name for comparison (whitespace, full-width brackets)."""
    s = str(name).strip()
    s = re.sub(r"\s+", "", s)
    return s.replace("（", "(").replace("）", ")")


def corridor_file(street: str) -> Path:
    """Path of the packaged corridor file of a street (``data/corridors/<street>.yaml``)."""
    return PACKAGE_DATA / "corridors" / f"{street}.yaml"


def _check_type(file, fld, value, types, what):
    if not isinstance(value, types):
        raise CorridorConfigError(
            file, fld, f"must be {what}, not {type(value).__name__} ({value!r})"
        )
    return value


def _number(file, fld, value, positive=True) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise CorridorConfigError(file, fld, f"must be a number, not {value!r}")
    if positive and not value > 0:
        raise CorridorConfigError(file, fld, f"must be positive, not {value!r}")
    return float(value)


def _road_spec(file, fld, item) -> RoadSpec:
    if isinstance(item, str):
        if not item.strip():
            raise CorridorConfigError(file, fld, "empty road name")
        return RoadSpec(name=item.strip())
    _check_type(file, fld, item, dict, "a road name or a mapping with 'name'")
    known = {
        "name",
        "aliases",
        "pattern",
        "along_waterway",
        "waterway_m",
        "highway",
        "link",
        "from",
        "to",
        "note",
    }
    unknown = sorted(set(item) - known)
    if unknown:
        raise CorridorConfigError(
            file, f"{fld}.{unknown[0]}", f"unknown key; allowed: {sorted(known)}"
        )
    if not isinstance(item.get("name"), str) or not item["name"].strip():
        raise CorridorConfigError(file, f"{fld}.name", "missing or empty road name")
    aliases = item.get("aliases") or []
    if isinstance(aliases, str):
        aliases = [aliases]
    _check_type(file, f"{fld}.aliases", aliases, list, "a list of names")
    for j, a in enumerate(aliases):
        _check_type(file, f"{fld}.aliases[{j}]", a, str, "a name")
    pattern = item.get("pattern")
    if pattern is not None:
        _check_type(file, f"{fld}.pattern", pattern, str, "a regular expression")
        try:
            re.compile(pattern)
        except re.error as exc:
            raise CorridorConfigError(
                file, f"{fld}.pattern", f"bad regular expression: {exc}"
            ) from None
    along = item.get("along_waterway")
    if along is not None:
        _check_type(file, f"{fld}.along_waterway", along, str, "a waterway name")
    highway = item.get("highway", list(BANK_HIGHWAYS))
    if isinstance(highway, str):
        highway = [highway]
    _check_type(file, f"{fld}.highway", highway, list, "a list of highway classes")
    link = item.get("link", False)
    _check_type(file, f"{fld}.link", link, bool, "true or false")
    for key in ("from", "to", "note"):
        if item.get(key) is not None:
            _check_type(file, f"{fld}.{key}", item[key], str, "a text")
    return RoadSpec(
        name=item["name"].strip(),
        aliases=tuple(a.strip() for a in aliases),
        pattern=pattern,
        along_waterway=along,
        waterway_m=_number(file, f"{fld}.waterway_m", item.get("waterway_m", 60.0)),
        highway=tuple(str(h) for h in highway),
        link=link,
        from_road=item.get("from"),
        to_road=item.get("to"),
        note=item.get("note"),
    )


_FILE_KEYS = {"street", "plan", "source", "defaults", "corridors", "notes"}
_CORRIDOR_KEYS = {
    "id",
    "name",
    "kind",
    "theme",
    "roads",
    "geojson",
    "at",
    "profile",
    "minutes",
    "gap_m",
    "unnamed_m",
    "description",
}


def load_corridors(path: str | Path) -> CorridorPlan:
    """Read and validate a corridor YAML file.

    Parameters
    ----------
    path : str or Path
        A corridor file (see the module docstring), e.g. ``corridor_file("石泉路街道")``.

    Returns
    -------
    CorridorPlan

    Raises
    ------
    CorridorConfigError
        Naming the file and the field (``corridors[2].roads[0].name``) of the first problem.
    FileNotFoundError
    """
    path = Path(path)
    file = str(path)
    doc = _read_corridor_doc(path)
    defaults = _corridor_defaults(file, doc)
    items = doc.get("corridors")
    if items is None:
        raise CorridorConfigError(file, "corridors", "missing: list the corridors")
    _check_type(file, "corridors", items, list, "a list")
    street = doc.get("street")
    notes: list[str] = []
    specs: list[CorridorSpec] = []
    seen: set[str] = set()
    for i, item in enumerate(items):
        specs.append(_corridor_spec(path, i, item, defaults, street, notes, seen))
    return CorridorPlan(
        street=street,
        plan=doc.get("plan"),
        source=doc.get("source"),
        corridors=specs,
        file=file,
        notes=notes,
    )


def _read_corridor_doc(path: Path) -> dict:
    """The YAML mapping of a corridor file, its top-level keys checked."""
    file = str(path)
    if not path.is_file():
        raise FileNotFoundError(f"{file}: corridor file not found")
    try:
        doc = yaml.safe_load(path.read_text(encoding="utf-8"))
    except yaml.YAMLError as exc:
        raise CorridorConfigError(file, "(file)", f"not valid YAML: {exc}") from None
    _check_type(file, "(file)", doc, dict, "a mapping with 'corridors'")
    unknown = sorted(set(doc) - _FILE_KEYS)
    if unknown:
        raise CorridorConfigError(file, unknown[0], f"unknown key; allowed: {sorted(_FILE_KEYS)}")
    return doc


def _corridor_defaults(file: str, doc: dict) -> dict:
    """The file's ``defaults`` over :data:`_DEFAULTS`, checked."""
    defaults = dict(_DEFAULTS)
    raw_def = doc.get("defaults") or {}
    _check_type(file, "defaults", raw_def, dict, "a mapping")
    for key, value in raw_def.items():
        if key not in _DEFAULTS:
            raise CorridorConfigError(
                file, f"defaults.{key}", f"unknown key; allowed: {sorted(_DEFAULTS)}"
            )
        defaults[key] = value
    _check_profile(file, "defaults.profile", defaults["profile"])
    for key in ("minutes", "gap_m", "unnamed_m"):
        defaults[key] = _number(file, f"defaults.{key}", defaults[key])
    return defaults


def _corridor_spec(
    path: Path, i: int, item, defaults: dict, street, notes: list, seen: set
) -> CorridorSpec:
    """One ``corridors[i]`` entry checked (its name, kind, id not in ``seen``, roads, ends and
    geometry file)."""
    file = str(path)
    fld = f"corridors[{i}]"
    _check_type(file, fld, item, dict, "a mapping with name, kind and roads")
    unknown = sorted(set(item) - _CORRIDOR_KEYS)
    if unknown:
        raise CorridorConfigError(
            file, f"{fld}.{unknown[0]}", f"unknown key; allowed: {sorted(_CORRIDOR_KEYS)}"
        )
    name = item.get("name")
    if not isinstance(name, str) or not name.strip():
        raise CorridorConfigError(file, f"{fld}.name", "missing or empty corridor name")
    fld = f"corridors[{i}] ({name})"
    kind = item.get("kind")
    if kind not in KINDS:
        raise CorridorConfigError(
            file, f"{fld}.kind", f"must be one of {sorted(KINDS)}, not {kind!r}"
        )
    cid = str(item.get("id") or f"c{i + 1}")
    if cid in seen:
        raise CorridorConfigError(file, f"{fld}.id", f"duplicate id {cid!r}")
    seen.add(cid)
    roads = _corridor_roads(file, fld, name, kind, item, notes)
    at = item.get("at", "junctions")
    if at not in ("junctions", "boundary"):
        raise CorridorConfigError(file, f"{fld}.at", f"must be junctions or boundary, not {at!r}")
    if kind == "gateway" and at == "junctions" and len(roads) == 1:
        raise CorridorConfigError(
            file, f"{fld}.roads", "a junction gateway needs at least two roads"
        )
    geojson = _corridor_geojson(path, fld, kind, item.get("geojson"))
    profile = item.get("profile", defaults["profile"])
    _check_profile(file, f"{fld}.profile", profile)
    for key in ("theme", "description"):
        if item.get(key) is not None:
            _check_type(file, f"{fld}.{key}", item[key], str, "a text")

    def num(key: str) -> float:
        return _number(file, f"{fld}.{key}", item.get(key, defaults[key]))

    return CorridorSpec(
        name=name.strip(),
        kind=kind,
        roads=tuple(roads),
        id=cid,
        theme=item.get("theme"),
        geojson=geojson,
        at=at,
        profile=profile,
        minutes=num("minutes"),
        gap_m=num("gap_m"),
        unnamed_m=num("unnamed_m"),
        description=item.get("description"),
        street=street,
    )


def _corridor_roads(file: str, fld: str, name: str, kind: str, item, notes: list) -> list:
    """The checked :class:`RoadSpec` list of a corridor (a ring's repeated first road dropped)."""
    raw_roads = item.get("roads")
    if raw_roads is None:
        raw_roads = []
    _check_type(file, f"{fld}.roads", raw_roads, list, "a list (use [] for a placeholder)")
    roads = [_road_spec(file, f"{fld}.roads[{j}]", r) for j, r in enumerate(raw_roads)]
    if kind == "ring" and _closes(roads):
        roads = roads[:-1]
        notes.append(f"{name}：环线末尾的 {roads[0].name} 与起点相同，视为闭合")
    if roads and (roads[0].link or roads[-1].link) and kind != "ring":
        raise CorridorConfigError(file, f"{fld}.roads", "a link must stand between two roads")
    for j, r in enumerate(roads):
        if (r.from_road or r.to_road) and kind == "ring":
            raise CorridorConfigError(
                file,
                f"{fld}.roads[{j}].from",
                "rings are bounded by their neighbours; from/to are for open corridors",
            )
        if r.from_road and j != 0:
            raise CorridorConfigError(
                file,
                f"{fld}.roads[{j}].from",
                "only the first road of an open corridor takes 'from'",
            )
        if r.to_road and j != len(roads) - 1:
            raise CorridorConfigError(
                file, f"{fld}.roads[{j}].to", "only the last road of an open corridor takes 'to'"
            )
    if kind == "ring" and 0 < len([r for r in roads if not r.link]) < 2:
        raise CorridorConfigError(file, f"{fld}.roads", "a ring needs at least two roads")
    return roads


def _corridor_geojson(path: Path, fld: str, kind: str, geojson) -> Path | None:
    """A corridor's drawn geometry file, relative to the corridor file; None when not given."""
    if geojson is None:
        return None
    file = str(path)
    _check_type(file, f"{fld}.geojson", geojson, str, "a file path")
    gpath = Path(geojson)
    if not gpath.is_absolute():
        gpath = path.parent / gpath
    if not gpath.is_file():
        raise CorridorConfigError(file, f"{fld}.geojson", f"file not found: {gpath}")
    if kind == "gateway":
        raise CorridorConfigError(
            file, f"{fld}.geojson", "gateways are points; draw lines for corridors"
        )
    return gpath


def _closes(roads) -> bool:
    """A ring written with its first road repeated at the end."""
    return len(roads) > 2 and roads[-1] == roads[0]


def _check_profile(file, fld, profile) -> None:
    if profile not in PROFILES:
        raise CorridorConfigError(
            file, fld, f"unknown speed profile {profile!r}; known: {sorted(PROFILES)}"
        )


# ---------------------------------------------------------------------------------------- reports
@dataclass
class Gap:
    """A break in a corridor: a long or unnamed connection, or a stretch off the named road."""

    kind: str  # "connection" | "off_road" | "link" | "junction"
    from_road: str
    to_road: str
    length_m: float
    unnamed_m: float = 0.0

    def __post_init__(self):
        # centimetres are plenty for a report (and keep 200 m from printing as 199.9999…)
        self.length_m = round(float(self.length_m), 2)
        self.unnamed_m = round(float(self.unnamed_m), 2)

    def __str__(self) -> str:
        if self.kind == "off_road":
            return (
                f"{self.from_road}：有 {self.length_m:.0f} 米不在该路上"
                f"（无名道路 {self.unnamed_m:.0f} 米）"
            )
        if self.kind == "link":
            return (
                f"{self.from_road}—{self.to_road}：规划联通通道，按最短步行路径 "
                f"{self.length_m:.0f} 米（无名道路 {self.unnamed_m:.0f} 米）"
            )
        if self.kind == "junction":
            return f"{self.from_road} 与 {self.to_road} 不相交，最近相距 {self.length_m:.0f} 米"
        return (
            f"{self.from_road} 与 {self.to_road} 不直接相交：最短连接 {self.length_m:.0f} 米"
            f"（无名道路 {self.unnamed_m:.0f} 米）"
        )


@dataclass
class CorridorReport:
    """What resolving one corridor found.

    Attributes
    ----------
    status : str
        ``ok``; ``partial`` (unmatched names or gaps); ``unresolved`` (nothing matched);
        ``placeholder`` (no roads yet); ``drawn`` (from a user-drawn GeoJSON).
    length_m : float
        Corridor length in metres (each street edge counted once).
    matched_m : dict
        Metres of each road's own part.
    unmatched : list of str
        Road names with no edge in the network.
    gaps, links : list of Gap
    pop, pop60 : float or None
        Demand within ``minutes`` (``profile``) of the corridor; ``pop`` counts nodes when no
        demand was given, ``pop60`` is then None.
    pop_total, pop60_total : float or None
        All demand of the network, for shares.
    n_points : int
        Gateway points found.
    """

    id: str
    name: str
    kind: str
    theme: str | None = None
    status: str = "ok"
    length_m: float = 0.0
    roads: list[str] = field(default_factory=list)
    matched_m: dict[str, float] = field(default_factory=dict)
    unmatched: list[str] = field(default_factory=list)
    gaps: list[Gap] = field(default_factory=list)
    links: list[Gap] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    profile: str = _DEFAULTS["profile"]
    minutes: float = _DEFAULTS["minutes"]
    pop: float | None = None
    pop60: float | None = None
    pop_total: float | None = None
    pop60_total: float | None = None
    n_nodes_reached: int = 0
    n_points: int = 0
    demand_is_count: bool = True

    @property
    def pop_share(self) -> float | None:
        if self.pop is None or not self.pop_total:
            return None
        return self.pop / self.pop_total

    @property
    def pop60_share(self) -> float | None:
        if self.pop60 is None or not self.pop60_total:
            return None
        return self.pop60 / self.pop60_total

    def to_dict(self) -> dict:
        """One flat summary row."""
        return {
            "corridor_id": self.id,
            "corridor": self.name,
            "kind": self.kind,
            "theme": self.theme,
            "status": self.status,
            "roads": "-".join(self.roads),
            "length_m": round(self.length_m, 1),
            "n_points": self.n_points,
            "unmatched": "、".join(self.unmatched),
            "n_gaps": len(self.gaps),
            "gaps": "；".join(str(g) for g in self.gaps),
            "links": "；".join(str(g) for g in self.links),
            "profile": self.profile,
            "minutes": self.minutes,
            "pop": self.pop,
            "pop60": self.pop60,
            "pop_share": self.pop_share,
            "pop60_share": self.pop60_share,
            "demand": "nodes" if self.demand_is_count else "population",
        }

    def __str__(self) -> str:
        label = KINDS.get(self.kind, self.kind)
        head = f"{self.name}（{label}）"
        if self.status == "placeholder":
            return f"{head}：待指定道路"
        size = (
            f"{self.n_points} 个节点" if self.kind == "gateway" else f"长度 {self.length_m:.0f} 米"
        )
        lines = [f"{head}：{size}，状态 {_STATUS_ZH.get(self.status, self.status)}"]
        if self.pop is not None:
            unit = "个路网节点" if self.demand_is_count else "人"
            text = f"  {self.minutes:g} 分钟步行范围内 {self.pop:,.0f} {unit}"
            if self.pop_share is not None:
                text += f"（{self.pop_share:.1%}）"
            if self.pop60 is not None:
                text += f"，其中 60 岁以上 {self.pop60:,.0f} 人"
            lines.append(text)
        if self.unmatched:
            lines.append(f"  未匹配的道路：{'、'.join(self.unmatched)}")
        lines += [f"  断点：{g}" for g in self.gaps]
        lines += [f"  联通：{g}" for g in self.links]
        lines += [f"  说明：{n}" for n in self.notes]
        return "\n".join(lines)


@dataclass
class CorridorResult:
    """All corridors of a plan, resolved.

    Attributes
    ----------
    lines : GeoDataFrame
        One row per part (road part, connection, link, drawn line, gateway point), WGS84:
        ``corridor_id, corridor, kind, theme, part, role, from_road, to_road, length_m, gap``.
    summary : DataFrame
        One row per corridor (:meth:`CorridorReport.to_dict`).
    reports : list of CorridorReport
    plan : CorridorPlan or None
    """

    lines: gpd.GeoDataFrame
    summary: pd.DataFrame
    reports: list[CorridorReport]
    plan: CorridorPlan | None = None

    def __str__(self) -> str:
        return "\n".join(str(r) for r in self.reports)


# ---------------------------------------------------------------------------------------- index
class _RoadIndex:
    """Per-network lookups: edge names, highway classes, node-pair → edge rows."""

    def __init__(self, net: WalkNetwork):
        e = net.edges
        self.n = net.n_nodes
        self.u = e["u_idx"].to_numpy(dtype=np.int64)
        self.v = e["v_idx"].to_numpy(dtype=np.int64)
        self.length = e["length"].to_numpy(dtype=float)
        self.geoms = e.geometry.values
        G = net.graph
        names: list[tuple[str, ...]] = []
        highways: list[tuple[str, ...]] = []
        for u, v, k, nm, hw in zip(
            e["u"].tolist(),
            e["v"].tolist(),
            e["key"].tolist(),
            e["name"].tolist(),
            e["highway"].tolist(),
            strict=True,
        ):
            data = G.edges[u, v, k] if G.has_edge(u, v, k) else {}
            nm = data.get("name", nm)
            hw = data.get("highway", hw)
            names.append(tuple(_norm(x) for x in _as_list(nm)))
            highways.append(tuple(str(x) for x in _as_list(hw)))
        self.names = names
        self.highways = highways
        self.named = np.array([bool(n) for n in names])
        by_name: dict[str, list[int]] = {}
        for i, ns in enumerate(names):
            for nm in ns:
                by_name.setdefault(nm, []).append(i)
        self.by_name = {k: np.array(v, dtype=np.int64) for k, v in by_name.items()}
        pairs: dict[tuple[int, int], list[int]] = {}
        for i, (a, b) in enumerate(zip(self.u.tolist(), self.v.tolist(), strict=True)):
            pairs.setdefault((a, b), []).append(i)
        self.pairs = pairs
        self.midpoints = shapely.line_interpolate_point(self.geoms, 0.5, normalized=True)
        self.node_xy = net.xy

    def csr(self, weights: np.ndarray) -> sparse.csr_matrix:
        order = np.lexsort((weights, self.v, self.u))
        u, v, w = self.u[order], self.v[order], weights[order]
        keep = np.ones(len(u), dtype=bool)
        keep[1:] = (u[1:] != u[:-1]) | (v[1:] != v[:-1])
        return sparse.csr_matrix(
            (np.maximum(w[keep], 1e-9), (u[keep], v[keep])), shape=(self.n, self.n)
        )

    def path_edges(self, nodes: list[int], weights: np.ndarray) -> list[int]:
        """Edge rows along a node path (the lightest parallel edge each step)."""
        rows = []
        for a, b in zip(nodes[:-1], nodes[1:], strict=True):
            cands = self.pairs[(a, b)]
            rows.append(min(cands, key=lambda r: weights[r]))
        return rows


def _as_list(value) -> list:
    if value is None:
        return []
    if isinstance(value, float) and np.isnan(value):
        return []
    if isinstance(value, list | tuple | set):
        return [x for x in value if x is not None and not (isinstance(x, float) and np.isnan(x))]
    text = str(value)
    if not text.strip():
        return []
    # OSM writes several names as "a;b"
    return [p for p in text.split(";") if p.strip()]


_INDEX_CACHE: list[tuple[WalkNetwork, _RoadIndex]] = []


def _index_for(net: WalkNetwork) -> _RoadIndex:
    for n, idx in _INDEX_CACHE:
        if n is net:
            return idx
    idx = _RoadIndex(net)
    _INDEX_CACHE.insert(0, (net, idx))
    del _INDEX_CACHE[2:]
    return idx


# ---------------------------------------------------------------------------------------- helpers
def _metric_geometry(obj, crs) -> shapely.Geometry | None:
    """A boundary/waterway (GeoDataFrame, GeoSeries or shapely in WGS84) as one metric geometry."""
    if obj is None:
        return None
    if isinstance(obj, gpd.GeoDataFrame | gpd.GeoSeries):
        if obj.crs is None:
            raise ValueError("boundary/waterways have no CRS")
        return shapely.union_all(obj.to_crs(crs).geometry.values)
    return shapely.union_all(gpd.GeoSeries([obj], crs=WGS84).to_crs(crs).values)


def _waterway_geometry(waterways: gpd.GeoDataFrame | None, name_re: str, crs):
    if waterways is None or len(waterways) == 0:
        return None
    if waterways.crs is None:
        raise ValueError("waterways have no CRS")
    names = waterways["name"] if "name" in waterways.columns else pd.Series([""] * len(waterways))
    rx = re.compile(name_re)
    sel = np.array([bool(rx.search(_norm(n))) if isinstance(n, str) else False for n in names])
    if not sel.any():
        return None
    return shapely.union_all(waterways.loc[sel].to_crs(crs).geometry.values)


def _road_mask(
    idx: _RoadIndex,
    road: RoadSpec,
    allowed: np.ndarray | None,
    waterways: gpd.GeoDataFrame | None,
    crs,
    notes: list[str],
) -> np.ndarray:
    mask = np.zeros(len(idx.length), dtype=bool)
    for nm in road.names:
        rows = idx.by_name.get(nm)
        if rows is not None:
            mask[rows] = True
    if road.pattern:
        rx = re.compile(road.pattern)
        for nm, rows in idx.by_name.items():
            if rx.search(nm):
                mask[rows] = True
    if road.along_waterway:
        water = _waterway_geometry(waterways, road.along_waterway, crs)
        if water is None:
            notes.append(
                f"{road.name}：没有名为 {road.along_waterway} 的河道数据，未能按滨河步道匹配"
            )
        else:
            hw_ok = np.array([bool(set(h) & set(road.highway)) for h in idx.highways])
            near = shapely.dwithin(idx.midpoints, water, road.waterway_m)
            mask |= hw_ok & near
    if allowed is not None:
        mask &= allowed
    return mask


def _nodes_of(idx: _RoadIndex, mask: np.ndarray) -> np.ndarray:
    return np.unique(np.concatenate([idx.u[mask], idx.v[mask]]))


def _trace(pred: np.ndarray, target: int) -> list[int]:
    path = [int(target)]
    while pred[path[-1]] >= 0:
        path.append(int(pred[path[-1]]))
    return path[::-1]


def _pick(nodes: np.ndarray, xy: np.ndarray, ref: np.ndarray) -> int:
    d = np.hypot(*(xy[nodes] - ref).T)
    return int(nodes[int(np.argmin(d))])


def _line_from_rows(idx: _RoadIndex, rows: list[int]):
    if not rows:
        return None
    coords = [np.asarray(idx.geoms[rows[0]].coords)]
    for r in rows[1:]:
        coords.append(np.asarray(idx.geoms[r].coords)[1:])
    return shapely.LineString(np.vstack(coords))


def _unnamed_m(idx: _RoadIndex, rows: list[int]) -> float:
    return float(sum(idx.length[r] for r in rows if not idx.named[r]))


def _undirected_length(idx: _RoadIndex, rows: set[int]) -> float:
    seen: dict[tuple[int, int], float] = {}
    for r in rows:
        key = (min(idx.u[r], idx.v[r]), max(idx.u[r], idx.v[r]))
        seen[key] = min(seen.get(key, np.inf), idx.length[r])
    return float(sum(seen.values()))


def _demand_arrays(net: WalkNetwork, demand) -> tuple[np.ndarray, np.ndarray | None, bool]:
    """(pop, pop60 or None, is_count) per network node."""
    n = net.n_nodes
    if demand is None:
        return np.ones(n), None, True
    if "node_idx" in demand.columns:
        nid = demand["node_idx"].to_numpy(dtype=np.int64)
    elif "osmid" in demand.columns:
        nid = net.index_of(demand["osmid"].to_numpy())
    else:
        raise ValueError("demand needs a node_idx or osmid column")
    ok = (nid >= 0) & (nid < n)
    if not ok.all():
        raise ValueError(f"demand: {int((~ok).sum())} rows name nodes not in the network")
    pop = (
        np.bincount(nid, weights=demand["pop"].to_numpy(dtype=float), minlength=n)
        if "pop" in demand.columns
        else np.bincount(nid, minlength=n).astype(float)
    )
    pop60 = None
    if "pop60" in demand.columns and demand["pop60"].notna().any():
        pop60 = np.bincount(
            nid, weights=np.nan_to_num(demand["pop60"].to_numpy(dtype=float)), minlength=n
        )
    return pop, pop60, _is_node_count(demand)


def _is_node_count(demand) -> bool:
    """Whether demand weights are node counts rather than people.

    True without a ``pop`` column, with ``attrs["weights"] == "nodes"``, or when the
    :func:`~lifecircle.geo.population.demand_from_network` report shows no population was given.
    """
    if "pop" not in demand.columns or demand.attrs.get("weights") == "nodes":
        return True
    rep = demand.attrs.get("report")
    stats = getattr(rep, "stats", None)
    return isinstance(stats, dict) and "population_total" not in stats


def corridor_coverage(
    net: WalkNetwork,
    nodes: np.ndarray,
    costs: np.ndarray | None = None,
    minutes: float = 5.0,
    profile: str = "elderly",
    demand: gpd.GeoDataFrame | None = None,
) -> dict:
    """Demand within a walk of a set of network nodes (a corridor's coverage role).

    Parameters
    ----------
    net : WalkNetwork
    nodes : array of int
        Seed node indices (the corridor's nodes).
    costs : array of float, optional
        Walk already spent to reach each seed (default 0).
    minutes : float
        Threshold, converted to metres by :func:`lifecircle.settings.threshold_cost`.
    profile : str
        Speed profile.
    demand : GeoDataFrame, optional
        ``node_idx`` (or ``osmid``), ``pop``, optional ``pop60``; one per node when absent.

    Returns
    -------
    dict
        ``pop``, ``pop60`` (None without it), ``pop_total``, ``pop60_total``, ``n_nodes``,
        ``limit_m``, ``is_count``, ``reached`` (bool per node).
    """
    limit = threshold_cost(profile, minutes=minutes)
    nodes = np.asarray(nodes, dtype=np.int64)
    costs = np.zeros(len(nodes)) if costs is None else np.asarray(costs, dtype=float)
    dist = multi_source_distances(net, nodes, costs, limit=limit)
    reached = dist <= limit
    pop, pop60, is_count = _demand_arrays(net, demand)
    return {
        "pop": float(pop[reached].sum()),
        "pop60": None if pop60 is None else float(pop60[reached].sum()),
        "pop_total": float(pop.sum()),
        "pop60_total": None if pop60 is None else float(pop60.sum()),
        "n_nodes": int(reached.sum()),
        "limit_m": limit,
        "is_count": is_count,
        "reached": reached,
    }


# ---------------------------------------------------------------------------------------- resolve
@dataclass
class _Part:
    part: str
    role: str
    from_road: str | None
    to_road: str | None
    rows: list[int]
    gap: bool = False
    point: shapely.Point | None = None
    geometry: shapely.Geometry | None = None
    length: float | None = None


def _shortest_between(
    idx: _RoadIndex, A: np.ndarray, B: np.ndarray, weights: np.ndarray, ref: np.ndarray
):
    """Closest pair a∈A, b∈B by walking; shared nodes first (nearest ``ref`` among ties).

    Returns (a, b, rows of the connecting path, walking metres) or None when unreachable.
    """
    shared = np.intersect1d(A, B)
    if len(shared):
        node = _pick(shared, idx.node_xy, ref)
        return node, node, [], 0.0
    dist, pred, src = csgraph.dijkstra(
        idx.csr(weights), directed=True, indices=A, return_predecessors=True, min_only=True
    )
    dB = dist[B]
    if not np.isfinite(dB).any():
        return None
    best = dB.min()
    ties = B[np.isclose(dB, best, rtol=0, atol=1e-6)]
    b = _pick(ties, idx.node_xy, ref)
    a = int(src[b])
    nodes = _trace(pred, b)
    rows = idx.path_edges(nodes, weights)
    return a, b, rows, float(best)


def _path_along(
    idx: _RoadIndex, start: int, end: int, mask: np.ndarray, factor: float
) -> list[int] | None:
    if start == end:
        return []
    w = np.where(mask, idx.length, idx.length * factor)
    _, pred = csgraph.dijkstra(idx.csr(w), directed=True, indices=start, return_predecessors=True)
    if pred[end] < 0:
        return None
    return idx.path_edges(_trace(pred, end), w)


def _far_end(idx: _RoadIndex, nodes: np.ndarray, anchor: int) -> int:
    d = np.hypot(*(idx.node_xy[nodes] - idx.node_xy[anchor]).T)
    return int(nodes[int(np.argmax(d))])


def _extremes(idx: _RoadIndex, nodes: np.ndarray) -> tuple[int, int]:
    centre = idx.node_xy[nodes].mean(axis=0)
    a = int(nodes[int(np.argmax(np.hypot(*(idx.node_xy[nodes] - centre).T)))])
    return a, _far_end(idx, nodes, a)


def _off_road_runs(idx: _RoadIndex, rows: list[int], mask: np.ndarray) -> list[tuple[float, float]]:
    """(metres, unnamed metres) of each contiguous stretch of a path not on the road."""
    runs, cur, cur_un = [], 0.0, 0.0
    for r in rows:
        if mask[r]:
            if cur:
                runs.append((cur, cur_un))
            cur, cur_un = 0.0, 0.0
        else:
            cur += idx.length[r]
            cur_un += 0.0 if idx.named[r] else idx.length[r]
    if cur:
        runs.append((cur, cur_un))
    return runs


def _resolve_sequence(
    idx: _RoadIndex,
    spec: CorridorSpec,
    masks: dict[int, np.ndarray],
    report: CorridorReport,
    factor: float,
) -> list[_Part]:
    """Parts of a ring/axis/themed corridor: road parts and the connections between them."""
    ring = spec.kind == "ring"
    n_roads = len(spec.roads) - 1 if ring and _closes(spec.roads) else len(spec.roads)
    seq = [j for j in range(n_roads) if spec.roads[j].link or j in masks]
    roads = [j for j in seq if not spec.roads[j].link]
    if not roads:
        return []
    if ring and len(roads) == 1:
        ring = False  # a ring reduced to one matched road: take that road end to end
        report.notes.append("环线只匹配到一条道路，按该路全长计")
    link_after: dict[int, str] = {}
    for pos, j in enumerate(seq):
        if spec.roads[j].link:
            prev = [k for k in seq[:pos] if not spec.roads[k].link]
            if prev:
                link_after[prev[-1]] = spec.roads[j].name
            elif ring:
                link_after[roads[-1]] = spec.roads[j].name
    nodes = {j: _nodes_of(idx, masks[j]) for j in roads}
    ref = idx.node_xy[np.concatenate(list(nodes.values()))].mean(axis=0)
    plain = idx.length
    parts: list[_Part] = []

    # junctions between consecutive roads
    pairs = list(zip(roads[:-1], roads[1:], strict=True))
    if ring and len(roads) > 1:
        pairs.append((roads[-1], roads[0]))
    entry: dict[int, int] = {}
    exit_: dict[int, int] = {}
    for a_j, b_j in pairs:
        ra, rb = spec.roads[a_j], spec.roads[b_j]
        res = _shortest_between(idx, nodes[a_j], nodes[b_j], plain, ref)
        if res is None:
            report.gaps.append(Gap("connection", ra.name, rb.name, float("inf")))
            report.notes.append(f"{ra.name} 与 {rb.name} 之间没有步行路径")
            continue
        a, b, rows, metres = res
        exit_[a_j], entry[b_j] = a, b
        if not rows:
            continue
        un = _unnamed_m(idx, rows)
        if a_j in link_after:
            g = Gap("link", ra.name, rb.name, metres, un)
            report.links.append(g)
            parts.append(_Part(link_after[a_j], "link", ra.name, rb.name, rows))
        else:
            is_gap = metres > spec.gap_m or un > spec.unnamed_m
            if is_gap:
                report.gaps.append(Gap("connection", ra.name, rb.name, metres, un))
            parts.append(_Part("连接", "connection", ra.name, rb.name, rows, gap=is_gap))

    # ends of open corridors
    if not ring:
        first, last = roads[0], roads[-1]
        for j, key, other in ((first, "from_road", entry), (last, "to_road", exit_)):
            bound = getattr(spec.roads[j], key)
            if bound is None:
                continue
            cross = RoadSpec(name=bound)
            cmask = masks.get(("cross", j, key))
            if cmask is None or not cmask.any():
                report.unmatched.append(bound)
                report.notes.append(f"{spec.roads[j].name}：界定路段的 {bound} 未匹配，取道路端点")
                continue
            res = _shortest_between(
                idx, nodes[j], _nodes_of(idx, cmask), plain, idx.node_xy[nodes[j]].mean(axis=0)
            )
            if res is None:
                continue
            node, _, _, metres = res
            if metres > spec.gap_m:
                report.gaps.append(Gap("junction", spec.roads[j].name, cross.name, metres))
            other[j] = node
        if first not in entry:
            anchor = exit_.get(first)
            entry[first] = (
                _far_end(idx, nodes[first], anchor)
                if anchor is not None
                else _extremes(idx, nodes[first])[0]
            )
        if last not in exit_:
            anchor = entry.get(last)
            exit_[last] = (
                _far_end(idx, nodes[last], anchor)
                if anchor is not None
                else _extremes(idx, nodes[last])[1]
            )

    # each road's own part
    for j in roads:
        road = spec.roads[j]
        s, t = entry.get(j), exit_.get(j)
        if s is None or t is None:
            continue
        rows = _path_along(idx, s, t, masks[j], factor)
        if rows is None:
            report.notes.append(f"{road.name}：两端之间没有步行路径")
            continue
        on = float(sum(idx.length[r] for r in rows if masks[j][r]))
        report.matched_m[road.name] = report.matched_m.get(road.name, 0.0) + on
        for metres, un in _off_road_runs(idx, rows, masks[j]):
            if metres > spec.gap_m:
                report.gaps.append(Gap("off_road", road.name, road.name, metres, un))
        if rows:
            parts.append(_Part(road.name, "road", road.from_road, road.to_road, rows))
    return parts


def _cluster_points(xy: np.ndarray, radius: float) -> list[np.ndarray]:
    """Single-linkage clusters of points within ``radius``; returns index arrays."""
    if len(xy) == 1:
        return [np.array([0])]
    from scipy.cluster.hierarchy import fcluster, linkage

    labels = fcluster(linkage(xy, method="single"), t=radius, criterion="distance")
    return [np.flatnonzero(labels == k) for k in np.unique(labels)]


def _resolve_gateway(
    idx: _RoadIndex,
    net: WalkNetwork,
    spec: CorridorSpec,
    masks: dict[int, np.ndarray],
    boundary_m,
    report: CorridorReport,
):
    parts: list[_Part] = []
    roads = [j for j in range(len(spec.roads)) if j in masks]
    if spec.at == "boundary":
        if boundary_m is None:
            report.notes.append("未提供街道边界，无法确定边界门户")
            return parts
        ring = shapely.boundary(boundary_m)
        for j in roads:
            hits = shapely.intersection(idx.geoms[masks[j]], ring)
            xy = shapely.get_coordinates(hits[~shapely.is_empty(hits)])
            if len(xy) == 0:
                report.notes.append(f"{spec.roads[j].name} 未穿过街道边界")
                continue
            for grp in _cluster_points(xy, 60.0):
                c = xy[grp].mean(axis=0)
                parts.append(
                    _Part(
                        f"{spec.roads[j].name}（边界）",
                        "gateway",
                        spec.roads[j].name,
                        None,
                        [],
                        point=shapely.Point(c),
                    )
                )
        return parts
    nodes = {j: _nodes_of(idx, masks[j]) for j in roads}
    for p, a_j in enumerate(roads):
        for b_j in roads[p + 1 :]:
            ra, rb = spec.roads[a_j], spec.roads[b_j]
            shared = np.intersect1d(nodes[a_j], nodes[b_j])
            if len(shared):
                xy = idx.node_xy[shared]
                for grp in _cluster_points(xy, 80.0):
                    c = xy[grp].mean(axis=0)
                    parts.append(
                        _Part(
                            f"{ra.name}/{rb.name}",
                            "gateway",
                            ra.name,
                            rb.name,
                            [],
                            point=shapely.Point(c),
                        )
                    )
                continue
            res = _shortest_between(
                idx, nodes[a_j], nodes[b_j], idx.length, idx.node_xy[nodes[a_j]].mean(axis=0)
            )
            if res is None or res[3] > spec.gap_m:
                metres = np.inf if res is None else res[3]
                report.notes.append(f"{ra.name} 与 {rb.name} 不相交（最近 {metres:.0f} 米）")
                continue
            a, b, _, metres = res
            c = (idx.node_xy[a] + idx.node_xy[b]) / 2.0
            parts.append(
                _Part(
                    f"{ra.name}/{rb.name}", "gateway", ra.name, rb.name, [], point=shapely.Point(c)
                )
            )
            report.notes.append(f"{ra.name} 与 {rb.name} 错位相交，相距 {metres:.0f} 米，取中点")
    if roads and not parts:
        report.gaps.append(
            Gap(
                "junction",
                spec.roads[roads[0]].name,
                "/".join(spec.roads[j].name for j in roads[1:]),
                float("inf"),
            )
        )
    return parts


def _resolve_drawn(
    net: WalkNetwork, spec: CorridorSpec, report: CorridorReport, snap_m: float
) -> tuple[list[_Part], np.ndarray, np.ndarray]:
    gdf = gpd.read_file(spec.geojson)
    if gdf.crs is None:
        gdf = gdf.set_crs(WGS84)
        report.notes.append(f"{spec.geojson.name} 未声明坐标系，按 WGS84 读取")
    lines = gdf.to_crs(net.crs).geometry
    kinds = set(lines.geom_type)
    if not kinds <= {"LineString", "MultiLineString"}:
        raise CorridorConfigError(
            spec.geojson,
            "geometry",
            f"corridor {spec.name!r}: expected lines, found {sorted(kinds)}",
        )
    geom = shapely.line_merge(shapely.union_all(lines.values))
    parts = [
        _Part(spec.name, "drawn", None, None, [], geometry=geom, length=float(shapely.length(geom)))
    ]
    # seeds: points every 20 m along the drawn line, snapped to the network
    dense = shapely.segmentize(geom, 20.0)
    pts = gpd.GeoDataFrame(geometry=shapely.points(shapely.get_coordinates(dense)), crs=net.crs)
    snap = snap_points(net, pts, max_snap_m=snap_m, label=str(spec.geojson))
    share_off = 1.0 - snap.ok.mean() if len(snap) else 1.0
    if share_off > 0:
        report.notes.append(
            f"手绘线有 {share_off:.0%} 的位置距步行道路超过 {snap_m:.0f} 米，这些位置不计入覆盖"
        )
    _, nodes, costs = snap.seeds()
    return parts, nodes, costs


def resolve_corridor(
    net: WalkNetwork,
    spec: CorridorSpec,
    *,
    demand: gpd.GeoDataFrame | None = None,
    waterways: gpd.GeoDataFrame | None = None,
    boundary=None,
    margin_m: float = 150.0,
    off_road_factor: float = 25.0,
    snap_m: float = 50.0,
) -> tuple[gpd.GeoDataFrame, CorridorReport]:
    """Turn one planned corridor into lines (or gateway points) on a walking network.

    Parameters
    ----------
    net : WalkNetwork
    spec : CorridorSpec
        From :func:`load_corridors`.
    demand : GeoDataFrame, optional
        Demand at network nodes (``node_idx``, ``pop``, ``pop60``), e.g. from
        :func:`lifecircle.geo.population.demand_from_network`; one per node when absent.
    waterways : GeoDataFrame, optional
        Waterway lines or areas with a ``name`` column, for roads with ``along_waterway``.
    boundary : GeoDataFrame, GeoSeries or shapely geometry (WGS84), optional
        The street boundary: road matches are limited to edges within ``margin_m`` of it, and
        ``at: boundary`` gateways are placed where roads cross it.
    margin_m : float
        How far outside the boundary a road still belongs to the corridor.
    off_road_factor : float
        Weight of edges not named the road, when following a road between its junctions.
    snap_m : float
        User-drawn lines: how far a point of the line may be from a street to count.

    Returns
    -------
    (GeoDataFrame, CorridorReport)
        Parts in WGS84 (columns :data:`LINE_COLUMNS`) and the report.
    """
    idx = _index_for(net)
    report = CorridorReport(
        id=spec.id,
        name=spec.name,
        kind=spec.kind,
        theme=spec.theme,
        roads=[r.name for r in spec.roads],
        profile=spec.profile,
        minutes=spec.minutes,
    )
    boundary_m = _metric_geometry(boundary, net.crs)
    allowed = None
    if boundary_m is not None:
        zone = shapely.buffer(boundary_m, margin_m)
        shapely.prepare(zone)
        allowed = shapely.intersects(zone, idx.geoms)

    seeds_nodes = np.array([], dtype=np.int64)
    seeds_costs = np.array([])
    if spec.geojson is not None:
        parts, seeds_nodes, seeds_costs = _resolve_drawn(net, spec, report, snap_m)
        report.status = "drawn"
    elif spec.is_placeholder:
        report.status = "placeholder"
        return _empty_lines(), report
    else:
        masks: dict = {}
        n_roads = len(spec.roads)
        if spec.kind == "ring" and _closes(spec.roads):
            n_roads -= 1
        for j, road in enumerate(spec.roads[:n_roads]):
            if road.link:
                continue
            m = _road_mask(idx, road, allowed, waterways, net.crs, report.notes)
            if m.any():
                masks[j] = m
            elif road.name not in report.unmatched:
                report.unmatched.append(road.name)
            for key in ("from_road", "to_road"):
                bound = getattr(road, key)
                if bound:
                    masks[("cross", j, key)] = _road_mask(
                        idx, RoadSpec(name=bound), allowed, None, net.crs, report.notes
                    )
        if spec.kind == "gateway":
            parts = _resolve_gateway(idx, net, spec, masks, boundary_m, report)
        else:
            parts = _resolve_sequence(idx, spec, masks, report, off_road_factor)
        rows = sorted({r for p in parts for r in p.rows})
        if rows:
            seeds_nodes = np.unique(np.concatenate([idx.u[rows], idx.v[rows]]))
        pts = [p.point for p in parts if p.point is not None]
        if pts:
            # gateways: the nearest node of each point
            pxy = shapely.get_coordinates(np.array(pts, dtype=object))
            near = [int(np.argmin(np.hypot(*(idx.node_xy - q).T))) for q in pxy]
            seeds_nodes = np.unique(np.concatenate([seeds_nodes, near])).astype(np.int64)
        seeds_costs = np.zeros(len(seeds_nodes))
        report.length_m = _undirected_length(idx, set(rows))
        report.n_points = len(pts)
        if not parts:
            report.status = "unresolved"
        elif report.unmatched or report.gaps:
            report.status = "partial"

    if report.status == "drawn":
        report.length_m = float(sum(p.length for p in parts))
    if len(seeds_nodes):
        cov = corridor_coverage(net, seeds_nodes, seeds_costs, spec.minutes, spec.profile, demand)
        report.pop, report.pop60 = cov["pop"], cov["pop60"]
        report.pop_total, report.pop60_total = cov["pop_total"], cov["pop60_total"]
        report.n_nodes_reached = cov["n_nodes"]
        report.demand_is_count = cov["is_count"]
    return _parts_frame(idx, spec, parts, net.crs), report


def _empty_lines() -> gpd.GeoDataFrame:
    return gpd.GeoDataFrame(
        {c: [] for c in LINE_COLUMNS if c != "geometry"},
        geometry=gpd.GeoSeries([], crs=WGS84),
        crs=WGS84,
    )


def _parts_frame(idx: _RoadIndex, spec: CorridorSpec, parts: list[_Part], crs):
    if not parts:
        return _empty_lines()
    records, geoms = [], []
    for p in parts:
        if p.point is not None:
            geom, length = p.point, 0.0
        elif p.geometry is not None:
            geom, length = p.geometry, p.length
        else:
            geom = _line_from_rows(idx, p.rows)
            length = float(sum(idx.length[r] for r in p.rows))
        records.append(
            {
                "corridor_id": spec.id,
                "corridor": spec.name,
                "kind": spec.kind,
                "theme": spec.theme,
                "part": p.part,
                "role": p.role,
                "from_road": p.from_road,
                "to_road": p.to_road,
                "length_m": round(length, 2),
                "gap": p.gap,
            }
        )
        geoms.append(geom)
    gdf = gpd.GeoDataFrame(records, geometry=geoms, crs=crs)
    return gdf.to_crs(WGS84)


def resolve_corridors(
    net: WalkNetwork,
    corridors,
    *,
    demand: gpd.GeoDataFrame | None = None,
    waterways: gpd.GeoDataFrame | None = None,
    boundary=None,
    progress: bool = False,
    **kwargs,
) -> CorridorResult:
    """Resolve every corridor of a plan (see :func:`resolve_corridor` for the options).

    Parameters
    ----------
    net : WalkNetwork
    corridors : str, Path, CorridorPlan or list of CorridorSpec
        A corridor YAML file, a loaded plan, or specs.
    demand, waterways, boundary, **kwargs
        Passed to :func:`resolve_corridor`.
    progress : bool
        Show a tqdm progress bar.

    Returns
    -------
    CorridorResult
    """
    plan = None
    if isinstance(corridors, str | Path):
        plan = load_corridors(corridors)
        specs = plan.corridors
    elif isinstance(corridors, CorridorPlan):
        plan, specs = corridors, corridors.corridors
    else:
        specs = list(corridors)
    frames, reports = [], []
    iterator = specs
    if progress:
        from tqdm.auto import tqdm

        iterator = tqdm(specs, desc="慢行廊道", unit="条")
    for spec in iterator:
        gdf, rep = resolve_corridor(
            net, spec, demand=demand, waterways=waterways, boundary=boundary, **kwargs
        )
        frames.append(gdf)
        reports.append(rep)
    non_empty = [f for f in frames if len(f)]
    lines = (
        gpd.GeoDataFrame(pd.concat(non_empty, ignore_index=True), crs=WGS84)
        if non_empty
        else _empty_lines()
    )
    summary = pd.DataFrame([r.to_dict() for r in reports])
    return CorridorResult(lines=lines, summary=summary, reports=reports, plan=plan)


def get_profile_label(profile: str) -> str:
    """Chinese label of a speed profile (for reports)."""
    return get_profile(profile).label
