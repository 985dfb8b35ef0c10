"""Many street (or district) configs as dask.distributed tasks: ``lifecircle batch``.

Each config runs exactly as ``lifecircle run`` runs it (:func:`run_config`), into
``<out>/<name>/`` (a street config's street, a district config's district); the coverage rows of
all of them are gathered into ``<out>/summary.csv`` with leading columns ``run`` (the folder),
``level`` (``street``, or ``district`` for a district's total) and ``street`` (the street of the
row; the district's name on its total rows), and into ``summary.xlsx`` with Chinese headers
(运行（输出目录）, 层级, 街道, …) as coverage.xlsx has them.

* A ``LocalCluster`` of ``workers`` processes (one thread each) by default, or an existing
  cluster through its scheduler address.
* A local network file named by several configs is loaded once, in the client, and scattered
  to the workers (``broadcast=True``); each task gets the future, not the file.
* A failing config is reported by its street name (:attr:`BatchResult.failures`) and does not
  stop the others.
* ``progress=True`` shows dask's progress bar (on a terminal only).
"""

from __future__ import annotations

import logging
import sys
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd

from ..cells import read_csv
from ..errors import InputError
from .writers import folder_name, refuse_links

__all__ = ["BatchResult", "SCHEDULER_TIMEOUT_S", "run_batch", "run_config", "summary_rows"]

#: Seconds to wait for an existing scheduler (``--scheduler``) before giving up (exit 2).
SCHEDULER_TIMEOUT_S = 20.0


@dataclass
class BatchResult:
    """What :func:`run_batch` did.

    Attributes
    ----------
    summary : DataFrame
        Every run's coverage rows (``run``, ``level``, ``street`` first), in the order the
        configs were given.
    done : list of str
        Runs (streets, districts) that ran, in the order given.
    failures : dict
        Street (or config file) → one-line reason.
    files : dict
        ``summary_csv``, ``summary_xlsx`` paths.
    shared : dict
        Local network file → the runs that share it (loaded once, scattered once).
    """

    summary: pd.DataFrame
    done: list[str] = field(default_factory=list)
    failures: dict[str, str] = field(default_factory=dict)
    files: dict[str, Path] = field(default_factory=dict)
    shared: dict[str, list[str]] = field(default_factory=dict)


def _network_file(cfg: Mapping) -> str | None:
    net = cfg.get("network") or {}
    if net.get("source") == "file" and net.get("file"):
        return str(Path(net["file"]).resolve())
    return None


def run_config(cfg: Mapping, out_dir: str | Path, net=None, *, allow_partial: bool = False) -> Path:
    """One loaded run config end to end, as ``lifecircle run`` does; returns ``coverage.csv``.

    A district config runs as a district (every street on one network, district rows).

    Parameters
    ----------
    cfg : dict
        A loaded street config (:func:`lifecircle.analysis.runconfig.load_run_config`) or
        district config (:func:`lifecircle.analysis.runconfig.load_district_config`).
    out_dir : path-like
        The street's output folder.
    net : WalkNetwork, optional
        The config's local network, loaded before (shared by several configs).
    allow_partial : bool
        Analyse a boundary the network reaches less than half of (``--allow-partial``).
    """
    from .inputs import config_inputs
    from .pipeline import run_inputs

    overrides = {"allow_partial": True} if allow_partial else {}
    if cfg.get("district"):
        from .district import district_inputs

        inputs = district_inputs(cfg, net=net)
    else:
        inputs = config_inputs(cfg, net=net)
    run_inputs(inputs, out_dir, **overrides)
    return Path(out_dir) / "coverage.csv"


def _task(cfg: Mapping, out_dir: str, net=None, allow_partial: bool = False) -> str:
    """The worker side: a one-line error instead of a traceback for bad input."""
    try:
        return str(run_config(cfg, out_dir, net, allow_partial=allow_partial))
    except InputError as exc:
        raise RuntimeError(f"输入错误: {exc}") from None


def _load(paths: Sequence[str | Path]) -> tuple[list[tuple[str, dict]], dict[str, str]]:
    """``(name, config)`` of every readable config (street or district) and the failures."""
    from ..analysis.runconfig import (
        RunConfigError,
        is_district_config,
        load_district_config,
        load_run_config,
    )

    configs, failures = [], {}
    seen: set[str] = set()
    for p in paths:
        try:
            load = load_district_config if is_district_config(p) else load_run_config
            cfg = load(p)
        except (RunConfigError, FileNotFoundError, OSError) as exc:
            failures[str(p)] = f"配置无法读取: {exc}"
            continue
        street = folder_name(str(cfg["street"]))  # <out>/<street>/: never outside <out>
        if street in seen:
            failures[f"{street} ({p})"] = "同名街道已在本批次中，输出目录会互相覆盖"
            continue
        seen.add(street)
        configs.append((street, cfg))
    return configs, failures


def _client(workers: int, scheduler: str | None):
    from dask.distributed import Client, LocalCluster

    if scheduler:
        return _existing_client(scheduler), None
    cluster = LocalCluster(
        n_workers=workers,
        threads_per_worker=1,
        processes=True,
        dashboard_address=None,
        silence_logs=logging.CRITICAL,  # failures are reported by name
    )
    return Client(cluster), cluster


def _existing_client(scheduler: str):
    """A client of an existing scheduler that has a worker, or bad input within the timeout."""
    from dask.distributed import Client

    wait = f"{SCHEDULER_TIMEOUT_S:g} 秒内"
    try:
        client = Client(scheduler, timeout=f"{SCHEDULER_TIMEOUT_S:g}s")
    except (OSError, TimeoutError, ValueError, TypeError) as exc:
        reason = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        raise InputError(
            f"--scheduler {scheduler}: 无法连接 dask 调度器 ({wait}; {reason}); "
            "请检查地址 (如 tcp://主机:8786) 或用 --workers 在本机运行"
        ) from None
    try:  # a scheduler without workers would leave every task waiting forever
        client.wait_for_workers(1, timeout=SCHEDULER_TIMEOUT_S)
    except (OSError, TimeoutError):
        client.close()
        raise InputError(
            f"--scheduler {scheduler}: 调度器没有可用的 worker ({wait}); "
            "请先启动 dask worker, 或用 --workers 在本机运行"
        ) from None
    return client


def _shared_networks(client, configs, failures) -> tuple[dict[str, object], dict[str, list]]:
    """Load each local network file once and scatter it to every worker.

    Returns the futures by file and, by file, the runs that use it.
    """
    from ..geo.network import load_network

    futures: dict[str, object] = {}
    users: dict[str, list[str]] = {}
    for street, cfg in configs:
        path = _network_file(cfg)
        if path is None:
            continue
        users.setdefault(path, []).append(street)
        if path in futures:
            continue
        try:
            net = load_network(path)
        except (OSError, ValueError) as exc:
            failures[street] = f"路网文件无法读取: {exc}"
            futures[path] = None
            continue
        futures[path] = client.scatter(net, broadcast=True, hash=False)
    return futures, users


def summary_rows(coverage_csv: str | Path, run: str) -> pd.DataFrame:
    """A run's ``coverage.csv`` with the summary's leading ``run``, ``level``, ``street``."""
    t = read_csv(coverage_csv)
    level = t.pop("level") if "level" in t else pd.Series("street", index=t.index)
    street = t["boundary"] if "boundary" in t else pd.Series(run, index=t.index)
    t.insert(0, "street", street.astype(str))
    t.insert(0, "level", level)
    t.insert(0, "run", run)
    return t


def _write_summary(out: Path, done: list[str]) -> tuple[pd.DataFrame, dict[str, Path]]:
    from ..cells import write_csv, write_xlsx

    frames = [summary_rows(out / run / "coverage.csv", run) for run in done]
    empty = pd.DataFrame({"run": [], "level": [], "street": []})
    summary = pd.concat(frames, ignore_index=True) if frames else empty
    files = {"summary_csv": out / "summary.csv", "summary_xlsx": out / "summary.xlsx"}
    write_csv(summary, files["summary_csv"])
    write_xlsx(files["summary_xlsx"], [("覆盖率汇总", _zh_summary(summary))])
    return summary, files


def _zh_summary(summary: pd.DataFrame) -> pd.DataFrame:
    """The summary for planners (summary.xlsx): Chinese headers and values, as coverage.xlsx."""
    from ..reports.tables import zh_columns
    from ..vocabulary import table_words

    if "demand_basis" not in summary.columns:
        return summary
    # ``street`` repeats ``boundary`` (both would read 街道)
    return zh_columns(summary.drop(columns="boundary"), words=table_words(summary))


def run_batch(
    config_paths: Sequence[str | Path],
    out_dir: str | Path,
    *,
    workers: int = 2,
    scheduler: str | None = None,
    allow_partial: bool = False,
    progress: bool = True,
) -> BatchResult:
    """Run many configs on dask.distributed; write ``<out>/<street>/`` and the summaries.

    Parameters
    ----------
    config_paths : sequence of path-like
        Street (or district) run configs.
    out_dir : path-like
        Created if needed.
    workers : int
        Worker processes of the local cluster (ignored with ``scheduler``).
    scheduler : str, optional
        Address of an existing dask scheduler (``tcp://host:8786``).
    allow_partial : bool
        Passed to every run (``--allow-partial``).
    progress : bool
        dask's progress bar, when stdout is a terminal.
    """
    if int(workers) < 1:
        raise InputError(f"--workers {workers}: 至少 1 个")
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    configs, failures = _load(config_paths)
    refuse_links(out, [out / street for street, _ in configs])
    client, cluster = _client(int(workers), scheduler)
    try:
        nets, shared = _shared_networks(client, configs, failures)
        futures = {}
        for street, cfg in configs:
            if street in failures:
                continue
            net = nets.get(_network_file(cfg) or "")
            futures[street] = client.submit(
                _task,
                cfg,
                str(out / street),
                net,
                allow_partial,
                key=f"lifecircle-run-{street}",
                pure=False,
            )
        if progress and sys.stdout.isatty() and futures:
            from dask.distributed import progress as dask_progress

            dask_progress(list(futures.values()))
        done = []
        for street, fut in futures.items():
            exc = fut.exception()
            if exc is None:
                done.append(street)
            else:
                failures[street] = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
    finally:
        client.close()
        if cluster is not None:
            cluster.close()
    summary, files = _write_summary(out, done)
    return BatchResult(summary, done, failures, files, shared)
