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
    The run as a library: :class:`Study` (``lifecircle.Study``) and ``run_pipeline``.
scripts
    The ``lifecircle`` command line and benchmarks.

A notebook does what ``lifecircle run`` does::

    from lifecircle import Study

    study = Study.from_config("data/streets/石泉路街道.yaml")
    study.coverage().table
    study.write("out/石泉路")
"""

__version__ = "0.1.0"
__all__ = ["RunOptions", "Study", "__version__"]


def __getattr__(name: str):
    # loaded on first use, so that ``import lifecircle`` (and the command line) stays light
    if name in ("Study", "RunOptions"):
        from .workflow import study

        return getattr(study, name)
    raise AttributeError(f"module 'lifecircle' has no attribute {name!r}")
