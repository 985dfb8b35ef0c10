"""Street and district run configs found by name or path, loaded with overrides, and schemas."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from ..errors import InputError
from .loading import resolve_path

__all__ = ["RunRequest", "config_schema", "load_run_inputs", "resolve_config", "schema_names"]

Echo = Callable[[str], None]


def schema_names() -> list[str]:
    """The configs :func:`config_schema` knows (``run-config``, ``district-config``)."""
    from ..analysis.runconfig import SCHEMAS

    return sorted(SCHEMAS)


def config_schema(name: str) -> dict:
    """The JSON Schema of a config kind (:func:`lifecircle.analysis.runconfig.run_config_schema`)."""
    from ..analysis.runconfig import run_config_schema

    return run_config_schema(name)


def resolve_config(text: str) -> Path:
    """A config path as given; else a packaged street config by name or by relative path."""
    from ..analysis.runconfig import street_config_file
    from ..settings import PACKAGE_DATA

    path = Path(text).expanduser()
    if path.is_file():
        return path
    candidates = [
        street_config_file(text),
        PACKAGE_DATA / "districts" / f"{text}.yaml",
        PACKAGE_DATA.parent / text,
    ]
    if not text.endswith((".yaml", ".yml")):
        candidates.append(street_config_file(text + "街道"))
    for cand in candidates:
        if cand.is_file():
            return cand
    known = sorted(p.stem for p in (PACKAGE_DATA / "streets").glob("*.yaml"))
    raise InputError(f"--config {text}: 文件不存在; 内置街道配置: {', '.join(known)}")


@dataclass
class RunRequest:
    """What ``lifecircle run`` starts from: a street or district config (path or packaged
    name), optionally a local ``network`` file, a ``boundaries`` file and ``boundary_name``
    replacing the street config's boundary, and the osmnx ``cache_folder``."""

    config: str
    network: str | Path | None = None
    boundaries: str | Path | None = None
    boundary_name: str | None = None
    cache_folder: str | Path | None = None


def _street_inputs(path: Path, req: RunRequest, echo: Echo):
    from ..analysis.runconfig import RunConfigError, load_run_config
    from .inputs import config_inputs

    try:
        cfg = load_run_config(path)
    except (RunConfigError, FileNotFoundError) as exc:
        raise InputError(str(exc)) from None
    if req.boundaries:
        path_b = resolve_path(req.boundaries)
        if not path_b.is_file():
            raise InputError(f"--boundaries {path_b}: 边界文件不存在 (no such file)")
        cfg["boundary"] = {**cfg["boundary"], "file": str(path_b)}
    if req.boundary_name:
        cfg["boundary"] = {**cfg["boundary"], "name": req.boundary_name}
    echo(f"{cfg['street']}: 配置 {path}")
    echo("读取数据 (边界、路网、设施、人口) …")
    return config_inputs(cfg, req.network, cache_folder=req.cache_folder)


def _district_inputs(path: Path, req: RunRequest, echo: Echo):
    """A district config: every street on one network (:mod:`lifecircle.workflow.district`)."""
    from ..analysis.runconfig import RunConfigError, load_district_config
    from .district import district_inputs

    if req.boundaries or req.boundary_name:
        raise InputError(
            "区配置的街道边界写在配置中 (streets / street_boundaries): "
            "--boundaries/--boundary-name 只用于街道配置"
        )
    try:
        cfg = load_district_config(path)
    except (RunConfigError, FileNotFoundError) as exc:
        raise InputError(str(exc)) from None
    echo(f"{cfg['district']}: 区配置 {path}")
    echo("读取数据 (各街道边界、一个路网、设施、人口) …")
    return district_inputs(cfg, req.network, cache_folder=req.cache_folder)


def load_run_inputs(req: RunRequest, *, echo: Echo = print):
    """The :class:`~lifecircle.workflow.inputs.PipelineInputs` of a street or district config.

    Parameters
    ----------
    req : RunRequest
    echo : callable
        Receives the console lines (default :func:`print`).

    Raises
    ------
    InputError
        No such config, an invalid config, or unusable inputs (exit code 2).
    """
    from ..analysis.runconfig import is_district_config

    path = resolve_config(req.config)
    if is_district_config(path):
        return _district_inputs(path, req, echo)
    return _street_inputs(path, req, echo)
