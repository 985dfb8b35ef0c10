"""One entry point for notebooks: a street or district config opened as a study."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from .configs import RunRequest, load_run_inputs
from .district import DistrictStudy
from .study import Study

__all__ = ["open_study"]


def _quiet(line: str) -> None:
    """Drop a console line (a notebook shows results, not progress talk)."""


def open_study(
    config: str | Path,
    *,
    network: str | Path | None = None,
    boundaries: str | Path | None = None,
    boundary_name: str | None = None,
    cache_folder: str | Path | None = None,
    echo: Callable[[str], None] | None = None,
    **overrides,
) -> Study:
    """The study ``lifecircle run --config CONFIG`` runs, for a notebook or a script.

    Takes what the command takes: a street config or a district config, by path or by packaged
    name (``"石泉路街道"``, ``"石泉路"``, ``"普陀区"``; see
    :func:`lifecircle.workflow.configs.resolve_config`), and the ``--network``,
    ``--boundaries`` and ``--boundary-name`` overrides. ``study.coverage()`` and
    ``study.write(out)`` then give the numbers and files of ``lifecircle run``.

    Parameters
    ----------
    config : str or path-like
        A street or district config: a file, or the name of a packaged one.
    network : path-like, optional
        A local network file instead of the config's (offline work).
    boundaries : path-like, optional
        A boundary file replacing the street config's (street configs only).
    boundary_name : str, optional
        The feature of the boundary file to use (street configs only).
    cache_folder : path-like, optional
        osmnx cache for online downloads.
    echo : callable, optional
        Receives the console lines of ``lifecircle run`` (default: none shown).
    **overrides
        :class:`~lifecircle.workflow.study.RunOptions` fields replacing the config's
        (``allow_partial=True``, ``basemap=None``, ...).

    Returns
    -------
    Study
        A :class:`~lifecircle.workflow.district.DistrictStudy` for a district config (street
        and district rows, ranking, street selector map), else a
        :class:`~lifecircle.workflow.study.Study`.

    Raises
    ------
    InputError
        No such config, an invalid config, ``boundaries`` given with a district config, or
        unusable inputs.

    Examples
    --------
    >>> from lifecircle import open_study
    >>> study = open_study("普陀区", allow_partial=True)  # doctest: +SKIP
    >>> study.coverage().table  # doctest: +SKIP
    >>> study.write("out/普陀区")  # doctest: +SKIP
    """
    request = RunRequest(
        config=str(config),
        network=network,
        boundaries=boundaries,
        boundary_name=boundary_name,
        cache_folder=cache_folder,
    )
    inputs = load_run_inputs(request, echo=echo or _quiet)
    district = getattr(inputs, "district", None)
    if district:
        return DistrictStudy.from_inputs(inputs, district=district, **overrides)
    return Study.from_inputs(inputs, **overrides)
