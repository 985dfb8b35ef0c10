"""The run as a library: inputs, the one-command pipeline and the writers of its files.

Sits above :mod:`lifecircle.analysis`, :mod:`lifecircle.maps` and :mod:`lifecircle.reports`;
the command line (:mod:`lifecircle.scripts`) only parses arguments, calls one function here and
prints.
"""

from .inputs import (
    DEMO_AREA_NAME,
    DEMO_CATEGORIES,
    PipelineInputs,
    config_inputs,
    demo_inputs,
    network_extent_boundary,
)
from .open import open_study
from .pipeline import PIPELINE_STEPS, run_inputs, run_pipeline
from .result import PipelineResult, summary_lines
from .siting import NewSites, site_new_facilities
from .study import RunOptions, Study
from .writers import write_corridors, write_coverage, write_rejections, write_sites

__all__ = [
    "DEMO_AREA_NAME",
    "DEMO_CATEGORIES",
    "PIPELINE_STEPS",
    "NewSites",
    "PipelineInputs",
    "PipelineResult",
    "RunOptions",
    "Study",
    "config_inputs",
    "demo_inputs",
    "network_extent_boundary",
    "open_study",
    "run_inputs",
    "run_pipeline",
    "site_new_facilities",
    "summary_lines",
    "write_corridors",
    "write_coverage",
    "write_rejections",
    "write_sites",
]
