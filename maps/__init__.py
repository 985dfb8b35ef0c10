"""Folium maps (online and offline HTML) and reports."""

from .builder import build_map, overlay_summary
from .offline import save_map

__all__ = ["build_map", "overlay_summary", "save_map"]
