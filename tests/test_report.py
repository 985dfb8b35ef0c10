"""Street reports: tables, charts, static map, Markdown/HTML summary."""

from __future__ import annotations

import re
import warnings
from pathlib import Path

import geopandas as gpd
import numpy as np
import openpyxl
import pandas as pd
import pytest
import shapely
from PIL import Image

from lifecircle import reports as rp
from lifecircle import vocabulary as voc
from lifecircle.analysis.corridors import CorridorReport, Gap
from lifecircle.reports import charts, figures, staticmap

X0, Y0 = 347000.0, 3458000.0
CATS = ["elder_care", "fitness", "health"]


def coverage_table(profiles=("elderly",)) -> pd.DataFrame:
    rows = []
    for p, prof in enumerate(profiles):
        for ci, c in enumerate(CATS):
            for m in (5, 10, 15):
                share = min(1.0, 0.2 + 0.25 * m / 5 - 0.1 * ci + 0.05 * p)
                share60 = round(share * 0.9, 4)
                rows.append(
                    {
                        "boundary": "石泉路街道",
                        "profile": prof,
                        "category": c,
                        "minutes": m,
                        "area_share": share * 0.95,
                        "network_share": share * 0.97,
                        "population": 96200.0,
                        "population_covered": 96200.0 * share,
                        "population_share": share,
                        "pop60": 30000.0,
                        "pop60_covered": 30000.0 * share60,
                        "pop60_share": share60,
                        "crowfly_population_share": min(1.0, share + 0.1),
                    }
                )
    return pd.DataFrame(rows)


def layers():
    boundary = gpd.GeoDataFrame(
        {"name": ["石泉路街道"]}, geometry=[shapely.box(X0, Y0, X0 + 2000, Y0 + 1800)], crs=32651
    ).to_crs(4326)
    centre = shapely.Point(X0 + 800, Y0 + 900)
    sa = gpd.GeoDataFrame(
        [
            {"category": c, "minutes": m, "fid": "全部", "geometry": centre.buffer(60 * m)}
            for c in CATS
            for m in (5, 10, 15)
        ],
        crs=32651,
    ).to_crs(4326)
    bs = gpd.GeoDataFrame(
        [
            {
                "boundary": "石泉路街道",
                "category": c,
                "minutes": m,
                "population": 1000.0 * (k + 1) * (20 - m) / 5 + 7 * ci,
                "pop60": 300.0 * (k + 1),
                "geometry": shapely.box(
                    X0 + 1500 + 200 * k, Y0 + 100, X0 + 1650 + 200 * k, Y0 + 400
                ),
            }
            for ci, c in enumerate(CATS)
            for m in (5, 10, 15)
            for k in range(2)
        ],
        crs=32651,
    ).to_crs(4326)
    fac = gpd.GeoDataFrame(
        {
            "fid": ["a", "b", "c"],
            "name": ["甲", "乙", "丙"],
            "category": ["elder_care", "fitness", "elder_care"],
        },
        geometry=[centre, shapely.Point(X0 + 300, Y0 + 300), shapely.Point(X0 + 1200, Y0 + 1500)],
        crs=32651,
    ).to_crs(4326)
    pts = gpd.GeoSeries(
        [
            shapely.Point(X0 + 1600, Y0 + 300),
            shapely.Point(X0 + 200, Y0 + 1600),
            shapely.Point(X0 + 1800, Y0 + 1700),
            shapely.Point(X0 + 100, Y0 + 100),
        ],
        crs=32651,
    ).to_crs(4326)
    sites = pd.DataFrame(
        {
            "rank": [2, 1, 3, 4],
            "site_id": ["s2", "s1", "s3", "s4"],
            "lon": pts.x,
            "lat": pts.y,
            "lon_gcj02": pts.x + 0.0045,
            "lat_gcj02": pts.y - 0.002,
            "gain_pop_10min": [3000.0, 5000.0, 1200.0, 100.0],
            "gain_pop60_10min": [900.0, 1500.0, 400.0, 20.0],
            "gain_pp_10min": [3.1, 5.2, 1.2, 0.1],
            "gain_pop_15min": [3500.0, 6000.0, 1300.0, 120.0],
            "gain_pop60_15min": [1000.0, 1800.0, 450.0, 30.0],
            "gain_pp_15min": [3.6, 6.2, 1.4, 0.1],
            "category": "elder_care",
        }
    )
    return boundary, sa, bs, fac, sites


def corridor_summary() -> pd.DataFrame:
    ring = CorridorReport(
        id="main_ring",
        name="慢行主环",
        kind="ring",
        status="partial",
        length_m=4321.5,
        roads=["铜川路", "真如港"],
        unmatched=["真如港"],
        gaps=[Gap("connection", "石泉路", "铜川路", 640.0, 120.0)],
        pop=18000.0,
        pop60=5000.0,
        pop_total=96200.0,
        pop60_total=30000.0,
        demand_is_count=False,
    )
    todo = CorridorReport(id="theme_fun", name="趣味减压街", kind="themed", status="placeholder")
    return pd.DataFrame([ring.to_dict(), todo.to_dict()])


TARGETS = [{"category": "elder_care", "minutes": 15, "population_share": 1.0, "source": "规划"}]


@pytest.fixture(scope="module")
def written(tmp_path_factory):
    out = tmp_path_factory.mktemp("report")
    boundary, sa, bs, fac, sites = layers()
    table = coverage_table()
    paths = rp.write_report(
        out,
        table,
        blind_spots=bs,
        sites=sites,
        facilities=fac,
        boundary=boundary,
        service_areas=sa,
        corridors=corridor_summary(),
        targets=TARGETS,
        profile="elderly",
        site_minutes=10,
    )
    return out, paths, table, bs, sites


def _pct(x):
    return f"{100 * x:.1f}%"


def test_report_md_numbers_match_the_table(written):
    out, paths, table, bs, sites = written
    md = paths["md"].read_text(encoding="utf-8")
    assert md.startswith("# 石泉路街道 15分钟社区生活圈评估报告")
    # coverage table: one row per category, 5/10/15 min population then 60+ shares
    for cat, label in zip(CATS, ["为老服务", "体育健身", "医疗卫生"], strict=True):
        sub = table[table["category"] == cat].sort_values("minutes")
        cells = [_pct(v) for v in sub["population_share"]] + [_pct(v) for v in sub["pop60_share"]]
        assert f"| {label} | " + " | ".join(cells) + " |" in md
    # e.g. elder care at 15 min: 95.0 % of residents, 85.5 % of those aged 60+
    assert "| 为老服务 | 45.0% | 70.0% | 95.0% | 40.5% | 63.0% | 85.5% |" in md
    # blind-spot population: sums of the blind-spot layer per category and threshold
    for (cat, m), g in bs.groupby(["category", "minutes"]):
        label = voc.category_label(cat)
        row = f"| {label} | {m} 分钟 | {g['population'].sum():,.0f} | {g['pop60'].sum():,.0f} |"
        assert row in md
    assert "| 为老服务 | 15 分钟 | 3,000 | 900 |" in md
    # the best three sites by rank, with their 10-minute gains
    rows = re.findall(
        r"^\| ([123]) \| (121\.\d{6}) \| (31\.\d{6}) .*\| ([\d,]+) \| ([\d,]+) \| "
        r"([\d.]+) \|$",
        md,
        flags=re.M,
    )
    assert [r[0] for r in rows] == ["1", "2", "3"]
    best = sites.sort_values("rank").head(3)
    assert [float(r[3].replace(",", "")) for r in rows] == best["gain_pop_10min"].tolist()
    assert [r[1] for r in rows] == [f"{v:.6f}" for v in best["lon"]]
    assert "| 4 |" not in md
    assert "建议新增站点 3 处，合计新增覆盖约 9,200 人（60 岁以上 2,800 人）" in md
    assert "规划 100.0%，本次测算 95.0%" in md
    # corridors
    assert "| 慢行主环 | 环线 | 4,322 | 18,000 人（18.7%） | 有断点/未匹配 | 真如港 |" in md
    assert "| 趣味减压街 | 主题街 | — | — | 待指定道路 |  |" in md
    assert "石泉路 与 铜川路 不直接相交：最短连接 640 米" in md
    assert "![覆盖率图](coverage_chart.png)" in md and "(map.png)" in md


def test_xlsx_headers_and_values(written):
    out, paths, table, bs, sites = written
    wb = openpyxl.load_workbook(paths["xlsx"])
    assert wb.sheetnames == [
        "覆盖率汇总",
        "覆盖率明细",
        "服务盲区",
        "建议新增站点",
        "慢行廊道",
        "规划目标对比",
    ]
    detail = wb["覆盖率明细"]
    header = [c.value for c in detail[1]]
    assert header[:5] == ["街道", "步行速度", "设施类别代码", "设施类别", "步行时间（分钟）"]
    for h in ("人口覆盖率", "60岁以上人口覆盖率", "覆盖人口", "直线距离人口覆盖率"):
        assert h in header
    col = header.index("人口覆盖率") + 1
    values = [detail.cell(row=r, column=col).value for r in range(2, detail.max_row + 1)]
    assert values == pytest.approx(table["population_share"].tolist())
    assert detail.cell(row=2, column=col).number_format == "0.0%"
    summary = wb["覆盖率汇总"]
    sh = [c.value for c in summary[1]]
    assert sh[:4] == ["街道", "步行速度", "设施类别", "5 分钟 人口覆盖率"]
    assert [c.value for c in summary[2]][2:4] == ["为老服务", pytest.approx(0.45)]
    blind = [c.value for c in wb["服务盲区"][1]]
    assert {"盲区人口", "盲区60岁以上人口", "面积（平方米）", "经度（WGS84）"} <= set(blind)
    site_h = [c.value for c in wb["建议新增站点"][1]]
    assert "新增覆盖人口（10 分钟）" in site_h and "经度（GCJ-02/高德）" in site_h
    target = wb["规划目标对比"]
    assert [c.value for c in target[2]][3:6] == [1, pytest.approx(0.95), -5.0]
    # the CSV keeps the contract's column names and values
    csv = pd.read_csv(paths["csv"], encoding="utf-8-sig")
    assert list(csv.columns) == list(table.columns)
    assert csv["population_share"].tolist() == pytest.approx(table["population_share"].tolist())


def test_pngs_have_the_right_size_and_content(written):
    out, paths, *_ = written
    (chart,) = paths["charts"]
    for path, size in ((chart, (1650, 720)), (paths["map"], (1200, 1200))):
        assert path.stat().st_size > 20_000
        with Image.open(path) as im:
            assert im.size == size
            arr = np.asarray(im.convert("L"), dtype=float)
        assert arr.std() > 10  # not blank


def test_html_is_self_contained(written):
    out, paths, *_ = written
    text = paths["html"].read_text(encoding="utf-8")
    assert text.count("data:image/png;base64,") == 2
    assert not re.search(r"""(src|href)=["'](https?:)?//""", text)
    assert "<td>95.0%</td>" in text and "石泉路街道" in text


def test_cjk_font_found_when_installed():
    if not list(Path("/usr/share/fonts").rglob("*CJK*")):
        pytest.skip("no CJK font installed (CI installs Debian fonts-noto-cjk)")
    name = rp.cjk_font()
    assert name is not None and "CJK" in name


def test_no_cjk_font_falls_back_with_a_warning(tmp_path, monkeypatch):
    monkeypatch.setattr(figures, "cjk_font", lambda refresh=False: None)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        path = rp.coverage_chart(coverage_table(), tmp_path / "c.png", title="石泉路街道")
    kinds = [w.category for w in caught]
    assert rp.NoCJKFontWarning in kinds
    assert not any("missing from font" in str(w.message) for w in caught)
    assert Image.open(path).size == (1650, 720)


def test_tofu_is_never_silent(tmp_path, monkeypatch):
    # a font without Chinese glyphs: the chart is still written, with a warning naming it
    monkeypatch.setattr(figures, "cjk_font", lambda refresh=False: "DejaVu Sans")
    with pytest.warns(rp.NoCJKFontWarning, match="c.png"):
        rp.coverage_chart(coverage_table(), tmp_path / "c.png")


def test_several_profiles_and_no_blind_spot_layer(tmp_path):
    table = coverage_table(profiles=("elderly", "adult"))
    paths = rp.write_report(tmp_path, table)
    assert [p.name for p in paths["charts"]] == ["coverage_chart_1.png", "coverage_chart_2.png"]
    md = paths["md"].read_text(encoding="utf-8")
    # profiles are headed by their Chinese label (settings.PROFILES[name].label)
    assert "### 老年人步行 (0.9 m/s)" in md and "### 成年人步行 (1.2 m/s)" in md
    assert "### elderly" not in md
    summary = openpyxl.load_workbook(paths["xlsx"])["覆盖率汇总"]
    assert [summary.cell(row=r, column=2).value for r in (2, 5)] == [
        "老年人步行 (0.9 m/s)",
        "成年人步行 (1.2 m/s)",
    ]
    # without a blind-spot layer the uncovered population of the table is quoted
    assert "未提供盲区图层" in md
    uncovered = 96200.0 * (1 - 0.95)
    assert f"| 为老服务 | 15 分钟 | {uncovered:,.0f} |" in md
    assert "未进行选址分析" in md


def test_bad_table_is_refused(tmp_path):
    with pytest.raises(ValueError, match="population_share"):
        rp.write_tables(pd.DataFrame({"category": ["x"], "minutes": [5]}), tmp_path)


# ------------------------------------------------------------------ no population: node counts
def node_table() -> pd.DataFrame:
    """The coverage table of a run without population: 1,872 network nodes, 60+ unknown."""
    t = coverage_table().assign(population=1872.0, demand_basis="nodes")
    t["population_covered"] = (t["population_share"] * 1872.0).round()
    t["population_uncovered"] = t["population"] - t["population_covered"]
    t["crowfly_500m_population_share"] = t["crowfly_population_share"]
    t["crowfly_500m_pop60_share"] = np.nan
    for c in ("pop60", "pop60_covered", "pop60_share"):
        t[c] = np.nan
    return t


def node_inputs():
    boundary, sa, bs, fac, sites = layers()
    bs = bs.assign(population=(bs["population"] / 10).round(), pop60=np.nan)
    sites = (
        sites.drop(columns=[c for c in sites.columns if c.startswith(("gain_pop60", "gain_pp"))])
        .rename(columns=lambda c: c.replace("gain_pop_", "gain_nodes_"))
        .assign(weight="nodes")
    )
    corr = corridor_summary().assign(demand="nodes", pop60=np.nan, pop60_share=np.nan)
    return boundary, sa, bs, fac, sites, corr


@pytest.fixture(scope="module")
def node_report(tmp_path_factory):
    out = tmp_path_factory.mktemp("nodes")
    boundary, sa, bs, fac, sites, corr = node_inputs()
    table = node_table()
    titles: list[str] = []
    real_save = figures.save_figure

    def save(fig, path, dpi):  # record every text drawn on the charts
        titles.extend(t.get_text() for t in fig.findobj(lambda o: hasattr(o, "get_text")))
        return real_save(fig, path, dpi)

    mp = pytest.MonkeyPatch()
    mp.setattr(charts, "save_figure", save)
    mp.setattr(staticmap, "save_figure", save)
    try:
        paths = rp.write_report(
            out,
            table,
            blind_spots=bs,
            sites=sites,
            facilities=fac,
            boundary=boundary,
            service_areas=sa,
            corridors=corr,
            site_minutes=15,
            write_csv=False,
        )
    finally:
        mp.undo()
    return paths, table, bs, sites, titles


def test_node_basis_report_counts_network_nodes(node_report):
    paths, table, bs, sites, _ = node_report
    md = paths["md"].read_text(encoding="utf-8")
    # no word of people anywhere: the counts are nodes
    assert "人口" not in md and " 人" not in md and "60 岁以上" not in md
    assert "步行速度：老年人步行 (0.9 m/s)" in md  # the table's profile, labelled
    assert "为老服务：5分钟 / 10分钟 / 15分钟 步行可达路网节点覆盖率 45.0% / 70.0% / 95.0%" in md
    # coverage table: node shares only (60+ unknown: no columns of dashes)
    assert "| 设施类别 | 5 分钟 路网节点 | 10 分钟 路网节点 | 15 分钟 路网节点 |" in md
    assert "| 为老服务 | 45.0% | 70.0% | 95.0% |" in md
    # blind spots: sums of the layer, in nodes; 15 min elder care = 100 + 200
    assert "| 设施类别 | 步行时间 | 盲区路网节点 |" in md
    assert "| 为老服务 | 15 分钟 | 300 |" in md
    assert "为老服务 15分钟服务盲区约 300 个路网节点" in md
    # sites: gains in nodes, 6000 + 3500 + 1300
    assert "新增覆盖路网节点（15 分钟）" in md
    assert "建议新增站点 3 处，合计新增覆盖约 10,800 个路网节点" in md
    assert "| 慢行主环 | 环线 | 4,322 | 18,000 个路网节点（18.7%） |" in md
    html = paths["html"].read_text(encoding="utf-8")
    assert "人口" not in html and "路网节点覆盖率" in html


def test_node_basis_xlsx_headers_and_no_csv(node_report):
    paths, table, *_ = node_report
    assert "csv" not in paths and not (paths["xlsx"].parent / "coverage.csv").exists()
    wb = openpyxl.load_workbook(paths["xlsx"])
    headers = {ws.title: [c.value for c in ws[1]] for ws in wb}
    for title, h in headers.items():
        assert not [x for x in h if "人口" in str(x)], title
    assert headers["覆盖率汇总"][2:5] == [
        "设施类别",
        "5 分钟 路网节点覆盖率",
        "10 分钟 路网节点覆盖率",
    ]
    detail = headers["覆盖率明细"]
    for h in ("路网节点数", "覆盖路网节点数", "路网节点覆盖率", "直线500米内路网节点覆盖率"):
        assert h in detail
    assert not [h for h in detail if "60岁以上" in str(h)]  # unknown: left out
    col = detail.index("路网节点覆盖率") + 1
    ws = wb["覆盖率明细"]
    assert [ws.cell(row=r, column=col).value for r in range(2, ws.max_row + 1)] == pytest.approx(
        table["population_share"].tolist()
    )
    assert ws.cell(row=2, column=col).number_format == "0.0%"
    assert ws.cell(row=2, column=detail.index("需求口径") + 1).value == "路网节点"
    assert "盲区路网节点数" in headers["服务盲区"]
    assert "新增覆盖路网节点（15 分钟）" in headers["建议新增站点"]
    assert "5分钟步行覆盖路网节点" in headers["慢行廊道"]


def test_node_basis_chart_titles(node_report):
    *_, titles = node_report
    texts = " ".join(titles)
    assert "路网节点覆盖率" in texts or "Network nodes covered" in texts
    assert "人口" not in texts and "Population" not in texts


def test_unknown_60_plus_blind_spots_show_a_dash_not_zero(tmp_path):
    # people known, 60+ unknown: the blind-spot 60+ column is "—", never "0"
    boundary, sa, bs, fac, sites = layers()
    bs = bs.assign(pop60=np.nan)
    fig = rp.key_figures(coverage_table(), bs)
    lab, pop, pop60 = fig["blind"]["elder_care"][-1]
    assert (lab, pop) == ("15 分钟", 3000.0) and np.isnan(pop60)
    paths = rp.write_report(tmp_path, coverage_table(), blind_spots=bs)
    md = paths["md"].read_text(encoding="utf-8")
    assert "| 为老服务 | 15 分钟 | 3,000 | — |" in md
    assert "为老服务 15分钟服务盲区人口约 3,000 人\n" in md  # no "（60 岁以上 0 人）"
    assert "60 岁以上 0 人" not in md
    assert (tmp_path / "coverage.csv").exists()  # written by default


def test_gain_and_profile_labels():
    assert voc.gain_label("gain_nodes_15min") == "新增覆盖路网节点（15 分钟）"
    assert voc.gain_label("gain_pop_15min") == "新增覆盖人口（15 分钟）"
    assert voc.profile_label("elderly") == "老年人步行 (0.9 m/s)"
    assert voc.profile_label("adult") == "成年人步行 (1.2 m/s)"
    assert voc.profile_label("gb50180").startswith("GB 50180")
    assert voc.profile_label("custom") == "custom"


def test_static_map_skips_empty_layers(tmp_path):
    # a category without facilities: its service areas are empty geometries
    boundary, sa, bs, fac, sites = layers()
    empty = sa.assign(geometry=shapely.MultiPolygon())
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        path = rp.static_map(
            tmp_path / "m.png",
            boundary=boundary,
            service_areas=empty,
            blind_spots=bs,
            facilities=fac,
            category="elder_care",
        )
    assert not [w for w in caught if "empty geometries" in str(w.message)]
    with Image.open(path) as im:
        assert im.size == (1200, 1200)
