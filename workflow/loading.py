"""Loading a command's input files with clear errors: every unusable input is an InputError."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from ..errors import InputError
from ..settings import data_dir
from .inputs import sheet_name_or_index

__all__ = [
    "BoundaryFile",
    "FacilityFile",
    "PopulationFile",
    "load_boundary_file",
    "load_facility_file",
    "load_network_file",
    "population_file",
    "require_coords_arg",
    "residents_options",
    "resolve_path",
    "select_boundary",
    "share60_of",
]


def resolve_path(path: str | Path) -> Path:
    """A path as given, else relative to ``$LIFECIRCLE_DATA`` when it exists there."""
    p = Path(path)
    if not p.exists():
        try:
            base = data_dir()
        except RuntimeError:
            base = None
        if base is not None and (base / path).exists():
            return base / path
    return p


def require_coords_arg(coords: str | None, what: str, option: str) -> str:
    """The normalised system of a coordinate input, or :class:`InputError` (exit 2) listing
    the choices when ``option`` was not given or names no known system."""
    from ..geo.crs import require_coords

    try:
        return require_coords(coords, what, option)
    except ValueError as exc:
        raise InputError(f"{option}: {exc}" if coords else str(exc)) from None


@dataclass
class FacilityFile:
    """A facility table and how to read it (the options of ``--facilities``).

    ``default_category``: the category of rows without a type column or with an unknown type;
    ``sheet``: XLSX sheet name or index (digits are an index); ``keep_cols``: extra columns
    to carry (e.g. a capacity column).
    """

    path: str | Path
    coords: str | None = None
    x: str | None = None
    y: str | None = None
    type_col: str | None = None
    name_col: str | None = None
    default_category: str | None = None
    sheet: str | int | None = None
    swap_xy: bool = False
    skip_rows: int | None = None
    keep_cols: list[str] = field(default_factory=list)

    def check(self) -> None:
        """What can be told before any loading: the file exists and declares its coordinate
        system (``--coords``; :class:`InputError` otherwise); run before the network loads."""
        path = resolve_path(self.path)
        if not path.exists():
            raise InputError(f"设施文件不存在 (no such file): {path}")
        require_coords_arg(self.coords, f"--facilities {path}", "--coords")


def load_facility_file(spec: FacilityFile, *, area=None):
    """Load a facility table (:func:`lifecircle.geo.facilities.load_facilities`).

    Parameters
    ----------
    spec : FacilityFile
    area : shapely geometry (WGS84), optional
        The declared study area (rows far outside it are rejected).

    Returns
    -------
    (GeoDataFrame, LoadReport)

    Raises
    ------
    InputError
        The file does not exist or cannot be read, or a column or the coordinate system is
        missing or unknown (the message names the file and the field).
    """
    from ..geo.facilities import FacilitiesError, load_facilities

    path = resolve_path(spec.path)
    require_coords_arg(spec.coords, f"--facilities {path}", "--coords")
    try:
        return load_facilities(
            path,
            spec.coords,
            x=spec.x,
            y=spec.y,
            type_col=spec.type_col,
            name_col=spec.name_col,
            category=spec.default_category,
            sheet=sheet_name_or_index(spec.sheet),
            area=area,
            swap_xy=bool(spec.swap_xy),
            skip_rows=spec.skip_rows,
            keep_cols=[c for c in spec.keep_cols if c],
        )
    except FileNotFoundError:
        raise InputError(f"设施文件不存在 (no such file): {path}") from None
    except PermissionError:
        raise InputError(f"设施文件无法读取 (permission denied): {path}") from None
    except (FacilitiesError, OSError, ValueError) as exc:
        raise InputError(f"设施文件无法读取: {exc}") from None


def residents_options(
    buildings=None,
    population_total: float | None = None,
    compounds=None,
    capacity_col: str | None = None,
    access_category: str = "elder_care",
    standard: str | None = None,
):
    """:class:`lifecircle.workflow.residents.ResidentsOptions` of a command, or ``None`` when
    none was asked for; file paths resolved (``osm`` kept as the word)."""
    from .residents import ResidentsOptions

    if buildings is not None and buildings != "osm":
        buildings = resolve_path(buildings)
    if compounds is not None and compounds != "osm":
        compounds = resolve_path(compounds)
    opts = ResidentsOptions(
        buildings=buildings,
        population_total=population_total,
        compounds=compounds,
        capacity_col=capacity_col,
        access_category=access_category,
        standard=standard,
    )
    if population_total is not None and buildings is None:
        raise InputError("--population-total 需要 --buildings (人口按住宅建筑面积分配到建筑)")
    return opts if opts.active else None


def load_network_file(path_text: str | Path):
    """Load a walking network file (:func:`lifecircle.geo.network.load_network`).

    Raises
    ------
    InputError
        The file does not exist or cannot be read as a network.
    """
    from ..geo.network import load_network

    path = resolve_path(path_text)
    if not path.exists():
        raise InputError(f"路网文件不存在 (no such file): {path}")
    try:
        return load_network(path)
    except (OSError, ValueError) as exc:
        raise InputError(f"路网文件无法读取: {path}: {exc}") from None


def _without_path(message: str, path: Path) -> str:
    """A loader's message without its leading ``path: `` (the caller names the file once)."""
    for prefix in (f"{path}: ", f"{path.name}: "):
        if message.startswith(prefix):
            return message[len(prefix) :]
    return message


def select_boundary(gdf, wanted: str, path: Path, option: str = "--boundary-name"):
    """The one boundary named ``wanted`` (``街道`` may be left off), else :class:`InputError`
    naming the file, the option, the value and the names the file has."""
    names = gdf["name"].astype(str)
    want = str(wanted).strip()
    bare = names.str.replace("街道$", "", regex=True)
    hit = gdf[(names == want) | (bare == want.removesuffix("街道"))]
    if len(hit) == 0:
        raise InputError(
            f"边界文件 {path}: 没有名为 {want!r} 的边界 ({option}); 文件中有: "
            + ", ".join(names.head(20))
            + (" …" if len(names) > 20 else "")
        )
    return hit.reset_index(drop=True)


def load_boundary_file(
    path_text: str | Path,
    *,
    name_col: str | None = None,
    name: str | None = None,
    allow_empty: bool = False,
):
    """Load a boundary file (:func:`lifecircle.geo.boundaries.load_boundaries`), only the one
    named ``name`` when given.

    Parameters
    ----------
    path_text : str or Path
    name_col : str, optional
        The name column (default: found by the loader).
    name : str, optional
        Keep only this boundary (:func:`select_boundary`).
    allow_empty : bool
        Return a file without any usable polygon (to report it) instead of raising.

    Returns
    -------
    (GeoDataFrame, LoadReport)

    Raises
    ------
    InputError
        The file does not exist, cannot be read, has no such column or boundary, or (unless
        ``allow_empty``) has no polygon; the message names the file once.
    """
    from ..geo.boundaries import load_boundaries

    path = resolve_path(path_text)
    if not path.exists():
        raise InputError(f"边界文件不存在 (no such file): {path}")
    try:
        gdf, report = load_boundaries(path, name_col=name_col)
    except OSError as exc:
        raise InputError(f"边界文件无法读取 (cannot read): {path}: {exc}") from None
    except ValueError as exc:
        raise InputError(f"边界文件 {path}: {_without_path(str(exc), path)}") from None
    if len(gdf) == 0 and not allow_empty:
        raise InputError(f"边界文件 {path}: 没有可用的边界面 (no polygon)")
    if name:
        gdf = select_boundary(gdf, name, path)
    return gdf, report


#: The study area chosen explicitly when there is no boundary (``--extent network``).
NETWORK_EXTENT_NOTE = (
    "研究范围 = 路网范围 (--extent network): 路网节点的凸包, 不是街道边界; 结果只说明路网所及之处"
)


def check_study_area(extent: str | None, options: str, ways: str) -> None:
    """A study area is named: a boundary (``options`` given, ``ways`` says how) or
    ``--extent network``.

    Parameters
    ----------
    extent : str or None
        ``--extent`` (only ``"network"``).
    options : str
        The boundary options given (e.g. ``"--boundaries"``); empty when none was.
    ways : str
        How to give a boundary, for the message.

    Raises
    ------
    InputError
        Neither, both, or an unknown ``--extent`` (exit 2; there is no silent fallback to the
        network's extent, which is not a street).
    """
    if extent not in (None, "network"):
        raise InputError(f"--extent {extent}: 只能是 network (研究范围 = 路网范围)")
    if extent == "network" and options:
        raise InputError(f"--extent network 与 {options} 不能同时使用")
    if extent is None and not options:
        raise InputError(
            f"未给出研究范围 (no study boundary): 用 {ways}, "
            "或明确选择 --extent network (研究范围 = 路网范围, 不是街道边界)"
        )


def population_file(path_text: str | Path | None) -> Path | None:
    """A population file resolved (None when not given).

    Raises
    ------
    InputError
        The file does not exist.
    """
    if not path_text:
        return None
    path = resolve_path(path_text)
    if not path.exists():
        raise InputError(f"人口文件不存在 (no such file): {path}")
    return path


def share60_of(share60: float | None, district: str | None) -> float | None:
    """The 60+ share: ``share60``, else the census share of ``district``, else None.

    Raises
    ------
    InputError
        ``share60`` outside [0, 1], or a district the census table does not have.
    """
    if share60 is not None:
        if not 0.0 <= share60 <= 1.0:
            raise InputError(f"--share60 应在 0 与 1 之间, 不是 {share60}")
        return float(share60)
    if district:
        from ..geo.population import district_age_share

        try:
            return district_age_share(None, district)
        except (OSError, RuntimeError, ValueError) as exc:
            raise InputError(f"--district {district}: {exc}") from None
    return None


@dataclass
class BoundaryFile:
    """A boundary file and which boundary to use (``--boundaries``, ``--boundary-name``,
    ``--boundary-name-col``)."""

    path: str | Path
    name: str | None = None
    name_col: str | None = None

    def load(self, *, allow_empty: bool = False):
        """:func:`load_boundary_file` of this file: (GeoDataFrame, LoadReport)."""
        return load_boundary_file(
            self.path, name_col=self.name_col, name=self.name, allow_empty=allow_empty
        )


@dataclass
class PopulationFile:
    """Population of a command: a file (``--population``) in its declared system
    (``--population-coords``, required for a CSV/Excel table) and the 60+ share (``--share60``,
    else the census share of ``--district``)."""

    path: str | Path | None = None
    share60: float | None = None
    district: str | None = None
    coords: str | None = None

    def resolved(self) -> Path | None:
        """:func:`population_file` of :attr:`path`."""
        return population_file(self.path)

    def check(self) -> None:
        """What can be told before any loading: the file exists and a table declares its
        coordinate system (:class:`InputError` otherwise); run before the network loads."""
        from ..geo.population import population_needs_coords

        path = self.resolved()
        if path is not None and (self.coords or population_needs_coords(path)):
            require_coords_arg(self.coords, f"--population {path}", "--population-coords")

    def load(self):
        """The population layer in its declared system (None without a file).

        A CSV/Excel table needs :attr:`coords` (``--population-coords``; no default); vector
        files and rasters use their own CRS.

        Returns
        -------
        GeoDataFrame or None
            ``pop`` per polygon/point (:func:`lifecircle.geo.population.load_population`);
            ``attrs["source"]`` is the file.

        Raises
        ------
        InputError
            No such file; a table without ``coords`` (the message lists the choices); values
            that contradict the declared system; an unreadable file.
        """
        from ..geo.population import load_population, population_needs_coords

        path = self.resolved()
        if path is None:
            return None
        if self.coords or population_needs_coords(path):
            require_coords_arg(self.coords, f"--population {path}", "--population-coords")
        try:
            population, _ = load_population(path, coords=self.coords)
        except (OSError, ValueError) as exc:
            message = str(exc).removeprefix(f"{path}: ")
            raise InputError(f"人口文件无法使用 (--population {path}): {message}") from None
        population.attrs["source"] = str(path)
        return population

    def share(self) -> float | None:
        """:func:`share60_of` of this population."""
        return share60_of(self.share60, self.district)
