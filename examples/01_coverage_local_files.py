"""Coverage of elder-care (为老服务) from local files: the Jing'an sample and GCJ-02 points.

    LIFECIRCLE_DATA=../shared/data python examples/01_coverage_local_files.py [OUT_DIR]

The walking network is the Jing'an/Huangpu OSM extract; the study area is its data extent
shrunk by 100 m; the elder-care points were picked on Amap (高德), so they are GCJ-02. No
population file: every network node weighs 1, and the shares are shares of 路网节点.
"""

import os
import sys
from pathlib import Path

from lifecircle import Study
from lifecircle.geo.network import load_network
from lifecircle.workflow import network_extent_boundary

data = Path(os.environ["LIFECIRCLE_DATA"])
out = Path(sys.argv[1] if len(sys.argv) > 1 else "out/example_coverage")

net = load_network(data / "osm" / "jingan_huangpu_drive.osm")
area = network_extent_boundary(net, "静安—黄浦样例区")
study = Study(
    area,
    net,
    data / "facilities" / "eldercare_shanghai_gcj02.csv",
    coords="gcj02",
    categories=["elder_care"],
)
cov = study.coverage()
print(cov.table[["category", "minutes", "population_share", "demand_basis"]].to_string())
print("盲区:", len(cov.blind_spots), "块")
files = study.write(out)
print("写出:", ", ".join(sorted(p.name for p in files.files())))
