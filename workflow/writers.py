"""Writers of the run's files: coverage, sites, corridors and every rejected input row."""

from __future__ import annotations

import json
import os
import re
from collections.abc import Mapping
from pathlib import Path

import geopandas as gpd
import pandas as pd

from ..cells import write_csv
from ..errors import InputError
from ..geo.report import LoadReport
from ..settings import WGS84
from ..units import tidy_numbers

GPKG_LAYERS = ("service_areas", "blind_spots", "nodes", "facilities", "boundaries")


def write_coverage(result, out_dir) -> dict[str, Path]:
    """Write ``coverage.csv`` (numbers rounded, node counts as integers) and ``coverage.gpkg``.

    Rows the step left out go to the run's one ``rejected.csv`` (:func:`write_rejections` with
    :func:`coverage_reports`).

    Parameters
    ----------
    result : CoverageResult
    out_dir : path-like
        Created if needed; existing files of the same names are replaced.

    Returns
    -------
    dict
        ``{"csv": path, "gpkg": path}``.
    """
    import pyogrio

    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    csv = out / "coverage.csv"
    table = result.table
    basis = "nodes" if (table.get("demand_basis") == "nodes").all() and len(table) else None
    write_csv(tidy_numbers(table, basis), csv)
    old = out / "coverage_rejected.csv"  # written by earlier versions: one rejected.csv now
    if old.exists():
        old.unlink()
    gpkg = out / "coverage.gpkg"
    if gpkg.exists():
        gpkg.unlink()
    layers = {
        "service_areas": result.service_areas,
        "blind_spots": result.blind_spots,
        "nodes": result.nodes,
        "facilities": result.facilities,
        "boundaries": getattr(result, "boundaries", None),
    }
    for name in GPKG_LAYERS:
        gdf = layers[name]
        if gdf is None:
            continue
        polygons = name in ("service_areas", "blind_spots", "boundaries")
        # our ``fid`` is the facility id (text): the GeoPackage row id gets another name
        kw = {"layer_options": {"FID": "gpkg_fid"}}
        if polygons:
            kw["promote_to_multi"] = True
        if len(gdf) == 0:
            kw["geometry_type"] = "MultiPolygon" if polygons else "Point"
        pyogrio.write_dataframe(gdf, gpkg, layer=name, driver="GPKG", append=gpkg.exists(), **kw)
    return {"csv": csv, "gpkg": gpkg}


def coverage_reports(result) -> dict[str, LoadReport]:
    """The coverage step's own reports (facilities and demand left off the network), named for
    :func:`write_rejections`."""
    return {f"覆盖率计算: {rep.source}": rep for rep in result.reports}


def write_sites(
    sites: gpd.GeoDataFrame,
    new_coverage: gpd.GeoDataFrame | None,
    out_dir,
    candidates: pd.DataFrame | None = None,
) -> dict[str, Path]:
    """Write ``sites.csv`` and ``sites.gpkg`` (layers ``sites``, ``new_coverage`` and, when
    given, ``candidates``; plus ``candidates.csv``). Returns the paths by key."""
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    paths = {"csv": out / "sites.csv", "gpkg": out / "sites.gpkg"}
    table = pd.DataFrame(sites.drop(columns="geometry", errors="ignore"))
    basis = "nodes" if "weight" in table and (table["weight"] == "nodes").all() else None
    write_csv(tidy_numbers(table, basis), paths["csv"])
    if paths["gpkg"].exists():
        paths["gpkg"].unlink()
    pts = (
        sites
        if isinstance(sites, gpd.GeoDataFrame)
        else gpd.GeoDataFrame(
            table, geometry=gpd.points_from_xy(table["lon"], table["lat"]), crs=WGS84
        )
    )
    pts.to_crs(WGS84).to_file(paths["gpkg"], layer="sites", driver="GPKG")
    if new_coverage is not None and len(new_coverage):
        nc = new_coverage.to_crs(WGS84)
        nc = nc[~nc.geometry.is_empty] if len(nc) else nc
        if len(nc):
            nc.to_file(paths["gpkg"], layer="new_coverage", driver="GPKG")
    if candidates is not None and len(candidates):
        paths["candidates"] = out / "candidates.csv"
        write_csv(tidy_numbers(candidates, basis), paths["candidates"])
        cg = gpd.GeoDataFrame(
            candidates, geometry=gpd.points_from_xy(candidates["lon"], candidates["lat"]), crs=WGS84
        )
        cg.to_file(paths["gpkg"], layer="candidates", driver="GPKG")
    return paths


def write_rejections(reports: Mapping[str, LoadReport], out_dir: str | Path) -> Path | None:
    """Write every rejected input row to the run's one ``rejected.csv`` (``input``, ``file``
    (one source file per row), ``row`` (spreadsheet row, header = row 1; feature number for
    vector files), ``field``, ``value``, ``reason``; UTF-8 with BOM). Returns ``None`` (and
    removes an old file) when nothing was rejected."""
    return _write_rows(
        reports,
        Path(out_dir) / "rejected.csv",
        lambda rep: rep.to_frame() if rep.rejections else None,
        ["input", "file", "row", "field", "value", "reason"],
    )


def _write_rows(reports, path: Path, frame_of, columns: list[str] | None = None) -> Path | None:
    """One CSV of the rows ``frame_of(report)`` gives for every input (``input`` column first);
    ``None`` (and an old file removed) when no input gives any."""
    frames = []
    for name, rep in reports.items():
        f = None if rep is None else frame_of(rep)
        if f is not None:
            f.insert(0, "input", name)
            frames.append(f)
    if not frames:
        if path.exists():
            path.unlink()
        return None
    table = pd.concat(frames, ignore_index=True)
    table["row"] = table["row"].astype("Int64")
    write_csv(table if columns is None else table[columns], path)
    return path


#: File names a run may write (a leftover one in a reused folder is warned about).
RUN_OUTPUTS = re.compile(
    r"^(coverage(_rejected)?\.(csv|gpkg|xlsx)|coverage_chart(_\d+)?\.png|sites\.(csv|gpkg)|"
    r"candidates\.csv|corridors\.(csv|gpkg)|rejected\.csv|notes\.csv|residents?\.\w+|"
    r"map(_offline)?\.html|map\.png|studio\.html|report\.(md|html))$"
)
#: Outputs a run writes last (rejections, notes, the report and its tables, charts and map):
#: :func:`clear_stale` before them leaves these for :func:`write_manifest` to judge.
LATE_OUTPUTS = re.compile(
    r"^(rejected\.csv|notes\.csv|coverage\.xlsx|coverage_chart(_\d+)?\.png|map\.png|"
    r"report\.(md|html))$"
)
MANIFEST = "manifest.json"


#: Names of the files lifecircle writes into an output folder (and a street's sub-folder), with
#: the side files of SQLite (GeoPackage) writes.
OUTPUT_NAME = re.compile(r"\.(csv|gpkg|xlsx|html|md|png|json|txt|npz)(-journal|-wal|-shm)?$", re.I)


def _entries(folder: Path) -> list[Path]:
    try:
        return sorted(folder.iterdir())
    except OSError:
        return []


def _planted(path: Path) -> bool:
    """A link where a file is written: a symbolic link, or a file with other hard links."""
    try:
        return path.is_symlink() or (path.is_file() and path.stat().st_nlink > 1)
    except OSError:
        return False


def planted_links(out_dir: str | Path, folders=()) -> list[Path]:
    """Links where lifecircle would write in ``out_dir``: writing would follow them.

    A symbolic link (or a hard-linked file) named like an output (:data:`OUTPUT_NAME`) in
    ``out_dir`` or in one of its sub-folders (a batch's street folders), and any of
    ``folders`` (sub-folders the run writes into) that is a symbolic link. ``out_dir`` itself
    may be a link: the planner chose it.

    Parameters
    ----------
    out_dir : path-like
        The output folder (need not exist).
    folders : iterable of path-like
        Sub-folders the run will write into.

    Returns
    -------
    list of Path
        The links found, sorted (empty when none).
    """
    out = Path(out_dir)
    found = [Path(f) for f in folders if Path(f).is_symlink()]
    for p in _entries(out) if out.is_dir() else []:
        if p.is_symlink() or not p.is_dir():
            found += [p] if OUTPUT_NAME.search(p.name) and _planted(p) else []
        else:
            found += [q for q in _entries(p) if OUTPUT_NAME.search(q.name) and _planted(q)]
    return sorted(set(found))


def refuse_links(out_dir: str | Path, folders=(), *, file: bool = False) -> None:
    """Stop before writing where a planted link would redirect the write (see
    :func:`planted_links`; with ``file``, ``out_dir`` is one output file that must not be a
    link).

    Raises
    ------
    InputError
        Naming the first link and its target (exit 2 on the command line).
    """
    path = Path(out_dir)
    links = ([path] if _planted(path) else []) if file else planted_links(path, folders)
    if not links:
        return
    first = links[0]
    try:
        target = os.readlink(first) if first.is_symlink() else "另一个硬链接的文件"
    except OSError:
        target = "?"
    more = f" (共 {len(links)} 个链接)" if len(links) > 1 else ""
    raise InputError(
        f"输出位置 {first} 是链接 (指向 {target}){more}: 写入会改写链接指向的文件, 已停止; "
        "请删除该链接或换一个输出目录 (a link where an output is written)"
    )


#: Characters never put into a folder name made from a name in the data.
_NOT_IN_FOLDER = re.compile(r'[\x00-\x1f\x7f/\\:*?"<>|]')


def folder_name(name: str, default: str = "街道") -> str:
    """A single safe folder name from a name in the data (a street, a district).

    Path separators, ``..``, control and reserved characters cannot lead outside the output
    folder: they become ``_``; leading/trailing dots and spaces are dropped; an empty result is
    ``default``. Ordinary names (``石泉路街道``) are kept as they are.
    """
    text = _NOT_IN_FOLDER.sub("_", str(name)).strip(" .")
    return text[:120] or default


def _listed_before(path: Path) -> list[str]:
    if not path.is_file():
        return []
    try:
        return [str(f) for f in json.loads(path.read_text(encoding="utf-8")).get("files", [])]
    except (ValueError, AttributeError, OSError, TypeError):
        return []


def clear_stale(out_dir: str | Path, files, pending: re.Pattern | None = None) -> list[str]:
    """Remove what an earlier run left in ``out_dir`` and this run did not write.

    Files listed in the folder's previous ``manifest.json`` but not in ``files`` are removed
    (the run owns them); files that look like a run's outputs but are in no manifest are kept
    and named. Names matching ``pending`` (outputs the run has still to write) are not judged.
    Returns one Chinese line per removed or leftover file, for the run's notes.
    """
    out = Path(out_dir)
    names = {Path(f).name for f in files if Path(f).parent.resolve() == out.resolve()}
    before = _listed_before(out / MANIFEST)

    def judged(name: str) -> bool:
        return name not in names and (pending is None or not pending.match(name))

    lines = []
    for name in sorted(n for n in set(before) if judged(n)):
        stale = out / Path(name).name
        if stale.is_file():
            stale.unlink()
            lines.append(f"已删除上一次运行留在输出目录中的 {name} (本次运行没有写出它)")
    for p in sorted(out.iterdir()):
        if p.is_file() and judged(p.name) and p.name not in before and RUN_OUTPUTS.match(p.name):
            lines.append(f"输出目录中的 {p.name} 不是本次运行写出的 (旧文件?), 已保留: 请勿混用")
    return lines


def stale_report(out_dir: str | Path, lines: list[str]) -> LoadReport:
    """The lines of :func:`clear_stale` as a report (warnings), for ``notes.csv``."""
    rep = LoadReport(str(out_dir))
    for line in lines:
        rep.warn(None, "file", line)
    return rep


def write_manifest(out_dir: str | Path, files) -> tuple[Path, list[str]]:
    """Write ``manifest.json`` (the files of this run) and clear what an earlier run left.

    See :func:`clear_stale` (called here with nothing pending). Returns the manifest and the
    lines of :func:`clear_stale`.
    """
    out = Path(out_dir)
    lines = clear_stale(out, files)
    names = sorted({Path(f).name for f in files if Path(f).parent.resolve() == out.resolve()})
    path = out / MANIFEST
    payload = {"tool": "lifecircle", "files": names}
    path.write_text(json.dumps(payload, ensure_ascii=False, indent=1) + "\n", encoding="utf-8")
    return path, lines


def write_notes(reports: Mapping[str, LoadReport], out_dir: str | Path) -> Path | None:
    """Write every repaired or suspect-but-kept input row to ``notes.csv`` (``input``, ``file``,
    ``row``, ``field``, ``what``, ``value``; UTF-8 with BOM): the other half of ``rejected.csv``.
    Returns ``None`` (and removes an old file) when nothing was repaired or flagged."""
    return _write_rows(
        reports,
        Path(out_dir) / "notes.csv",
        lambda rep: rep.warnings_frame() if getattr(rep, "warnings", None) else None,
    )


def warning_lines(reports: Mapping[str, LoadReport]) -> list[str]:
    """One Chinese line per repaired or flagged input row, for the console and the report."""
    lines = []
    for name, rep in reports.items():
        for w in getattr(rep, "warnings", None) or []:
            where = f"第 {w.row} 行: " if w.row is not None else ""
            lines.append(f"注意 ({name}): {where}{w.reason}")
    return lines


def write_corridors(result, out_dir: str | Path) -> dict[str, Path]:
    """Write resolved corridors as ``corridors.gpkg`` (layers ``lines``, ``summary``) and
    ``corridors.csv`` (the summary, UTF-8 with BOM): what ``lifecircle map --corridors`` reads.
    """
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    gpkg = out / "corridors.gpkg"
    csv = out / "corridors.csv"
    if gpkg.exists():
        gpkg.unlink()
    lines = result.lines
    if len(lines):
        lines.to_file(gpkg, layer="lines", driver="GPKG")
    summary = result.summary.copy()
    for col in summary.columns:  # GeoPackage attribute tables want plain types
        if summary[col].dtype == object:
            summary[col] = summary[col].map(lambda v: None if v is None else str(v))
    import pyogrio

    pyogrio.write_dataframe(summary, gpkg, layer="summary", driver="GPKG", append=gpkg.exists())
    write_csv(result.summary, csv)
    return {"gpkg": gpkg, "csv": csv}
