"""lifecircle: 15-minute community life-circle (15分钟社区生活圈) analysis for sub-district planners.

Subpackages
-----------
geo
    Loading and coordinate systems: boundaries, facilities, walking networks, population.
analysis
    Coverage (walking service circles, shares, blind spots) and siting.
maps
    Folium maps and reports.
scripts
    The ``lifecircle`` command line and benchmarks.
"""

__version__ = "0.1.0"
