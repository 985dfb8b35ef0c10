"""District map layers: the district outline, one layer per street and a street selector."""

from __future__ import annotations

import folium
import geopandas as gpd
import shapely
from branca.element import MacroElement
from jinja2 import Template

from .layers import _geojson, _require_crs, _tag, to_display

__all__ = ["STREET_STYLE", "add_district_layers"]

#: A selected street: filled lightly so that it stands out from its neighbours.
STREET_STYLE = {"color": "#1f4e9c", "weight": 3, "fill": True, "fillOpacity": 0.12}
DISTRICT_STYLE = {"color": "#000000", "weight": 4, "fill": False}


class _StreetSelect(MacroElement):
    """A ``<select>`` of the streets: choosing one shows its layer and zooms to it.

    Street names only ever reach the page as ``textContent`` (never as HTML) and through
    ``tojson`` (``<``, ``>``, ``&`` escaped), so a hostile name stays text. No inline handlers:
    the listener is added in the (CSP-hashed) script.
    """

    _template = Template(
        """
        {% macro script(this, kwargs) %}
        (function() {
            var map = {{ this._parent.get_name() }};
            var streets = {{ this.streets|tojson }};
            var layers = [{% for l in this.layers %}{{ l }}{{ "," if not loop.last }}{% endfor %}];
            var ctl = L.control({position: "topleft"});
            ctl.onAdd = function() {
                var div = L.DomUtil.create("div", "lc-street-select");
                div.style.background = "white";
                div.style.padding = "4px 6px";
                div.style.borderRadius = "4px";
                var label = document.createElement("label");
                label.textContent = {{ this.label|tojson }};
                var sel = document.createElement("select");
                sel.id = "lc-street-select";
                var all = document.createElement("option");
                all.value = "";
                all.textContent = {{ this.all_label|tojson }};
                sel.appendChild(all);
                streets.forEach(function(s, i) {
                    var o = document.createElement("option");
                    o.value = String(i);
                    o.textContent = s.name;
                    sel.appendChild(o);
                });
                sel.addEventListener("change", function() {
                    layers.forEach(function(l) { map.removeLayer(l); });
                    if (sel.value === "") {
                        map.fitBounds({{ this.bounds|tojson }});
                        return;
                    }
                    var k = Number(sel.value);
                    layers[k].addTo(map);
                    map.fitBounds(streets[k].bounds);
                });
                label.appendChild(sel);
                div.appendChild(label);
                L.DomEvent.disableClickPropagation(div);
                return div;
            };
            ctl.addTo(map);
        })();
        {% endmacro %}
        """
    )

    def __init__(self, streets: list[dict], layers: list[str], bounds: list):
        super().__init__()
        self._name = "StreetSelect"
        self.streets = streets
        self.layers = layers
        self.bounds = bounds
        self.label = "街道："
        self.all_label = "全区"


def _bounds(geom) -> list[list[float]]:
    x0, y0, x1, y1 = shapely.bounds(geom)
    return [[float(y0), float(x0)], [float(y1), float(x1)]]


def add_district_layers(
    m: folium.Map, streets: gpd.GeoDataFrame, district: str, system: str = "wgs84"
) -> int:
    """Add the district outline, a (hidden) layer per street and the street selector to ``m``.

    Parameters
    ----------
    m : folium.Map
        A map of :func:`lifecircle.maps.builder.build_map`; its layer control is moved after the
        new layers (its script names every overlay).
    streets : GeoDataFrame
        The streets (``name``; any CRS).
    district : str
        The district's name (plain text; escaped where it reaches HTML).
    system : str
        ``wgs84`` or ``gcj02`` (the map's display system).

    Returns
    -------
    int
        Number of street layers added.
    """
    wgs = _require_crs(streets, "streets")
    disp = to_display(wgs, system, what="streets").reset_index(drop=True)
    names = (
        [str(n) for n in disp["name"]]
        if "name" in disp
        else [f"街道{i + 1}" for i in range(len(disp))]
    )
    controls = [(k, c) for k, c in m._children.items() if isinstance(c, folium.LayerControl)]
    for key, _ in controls:
        del m._children[key]
    outline = gpd.GeoDataFrame(geometry=[shapely.union_all(disp.geometry.values)], crs=disp.crs)
    _tag(
        _geojson(outline, {"_tip": [district]}, name=f"区界：{district}", show=True,
                 style=DISTRICT_STYLE),
        "district",
    ).add_to(m)  # fmt: skip
    layers, entries = [], []
    for i, name in enumerate(names):
        one = disp.iloc[[i]]
        layer = _tag(
            _geojson(one, {"_tip": [name]}, name=f"街道：{name}", show=False, style=STREET_STYLE),
            "street",
        )
        layer.add_to(m)
        layers.append(layer.get_name())
        entries.append({"name": name, "bounds": _bounds(one.geometry.iloc[0])})
    _StreetSelect(entries, layers, _bounds(outline.geometry.iloc[0])).add_to(m)
    for key, control in controls:
        m._children[key] = control
    return len(layers)
