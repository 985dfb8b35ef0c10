"""lifecircle: 15-minute community life-circle (15分钟社区生活圈) analysis for sub-district planners.

Subpackages
-----------
geo
    Loading and coordinate systems: boundaries, facilities, walking networks, population.
analysis
    Coverage (walking service circles, shares, blind spots) and siting.
maps
    Folium maps (online and offline HTML).
reports
    Street reports: workbook, charts, static map, Markdown/HTML summary.
workflow
    The run as a library: :func:`open_study` (``lifecircle.open_study``), :class:`Study`
    (``lifecircle.Study``) and ``run_pipeline``.
scripts
    The ``lifecircle`` command line and benchmarks.

A notebook does what ``lifecircle run --config ...`` does, for a street or a whole district::

    from lifecircle import open_study

    study = open_study("石泉路街道")  # a packaged name or a path, as ``--config`` takes
    study.coverage().table  # the rows of coverage.csv
    study.write("out/石泉路")  # every file of ``lifecircle run``

    district = open_study("data/districts/普陀区.yaml", network="putuo.osm")
    district.coverage().table  # street rows and 全区合计 rows
    district.write("out/普陀区")

``open_study(config, boundaries=..., boundary_name=...)`` replaces a street config's boundary, as
``--boundaries`` / ``--boundary-name`` do.
"""

__version__ = "0.1.0"
__all__ = ["RunOptions", "Study", "__version__", "open_study"]


def __getattr__(name: str):
    # loaded on first use, so that ``import lifecircle`` (and the command line) stays light
    if name in ("Study", "RunOptions"):
        from .workflow import study

        return getattr(study, name)
    if name == "open_study":
        from .workflow.open import open_study

        return open_study
    raise AttributeError(f"module 'lifecircle' has no attribute {name!r}")
