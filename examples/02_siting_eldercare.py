"""What one more 为老服务站 would add, and where three new ones would help most.

    LIFECIRCLE_DATA=../shared/data python examples/02_siting_eldercare.py

Same inputs as ``01_coverage_local_files.py``. The what-if point was picked on Amap (GCJ-02);
the siting is the exact maximal-covering model (MCLP, HiGHS) at a 10-minute walk of older
residents (0.9 m/s), with the existing stations kept open.
"""

import os
from pathlib import Path

from lifecircle import Study
from lifecircle.geo.network import load_network
from lifecircle.workflow import network_extent_boundary

data = Path(os.environ["LIFECIRCLE_DATA"])
net = load_network(data / "osm" / "jingan_huangpu_drive.osm")
area = network_extent_boundary(net, "静安—黄浦样例区")
study = Study(
    area,
    net,
    data / "facilities" / "eldercare_shanghai_gcj02.csv",
    coords="gcj02",
    categories=["elder_care"],
)

effect = study.what_if([(121.4785, 31.2335)], coords="gcj02")  # a site picked on Amap
print(effect.table[["minutes", "pop_before", "pop_after", "gain_pop"]].to_string())

new = study.site(minutes=10, new=3, model="mclp")
print(new.sites[["rank", "lon_gcj02", "lat_gcj02", "gain_nodes_10min"]].to_string())
print("覆盖路网节点 {covered_before:.0f} → {covered_after:.0f}".format(**new.summary))
