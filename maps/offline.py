"""Export a folium map as HTML, optionally as one self-contained file with no CDN reference.

folium links Leaflet, jQuery, Bootstrap, Awesome-Markers, Font Awesome and its plugins from
CDNs. A map for a government intranet must open without them, so ``save_map(..., offline=True)``:

1. renders the map to HTML;
2. drops the assets the page does not use (jQuery, Bootstrap, Awesome-Markers and their icon
   fonts: lifecircle draws icons as inline SVG, popups without jQuery);
3. replaces every remaining ``<script src>`` / ``<link rel=stylesheet>`` by the file's text,
   taken at export time from an installed package (nothing third-party is stored in this
   repository);
4. checks that the result references no script, stylesheet, font or image on the network
   (basemap tile URL templates excepted) and raises :class:`OfflineExportError` otherwise;
5. adds a Content-Security-Policy (:func:`add_csp`) that lets only the page's own inline
   scripts run, each by its SHA-256 hash: an inline event handler (``onerror=``, ``onclick=``)
   or ``javascript:`` URL smuggled in through a name never runs, and nothing can be fetched
   but basemap tiles.

The assets come from the PyPI package ``folium-offline`` (import name ``offlinefolium``), which
ships the exact files folium links, keyed by their CDN URL, with the images of ``leaflet.css``
and the full-screen control already turned into ``data:`` URIs. If folium moves to another
release of an asset, the file with the same name from the same package is used instead and a
note says so.
"""

from __future__ import annotations

import base64
import hashlib
import re
from collections.abc import Callable
from pathlib import Path
from urllib.parse import urlparse

import folium

__all__ = [
    "ASSET_PACKAGE",
    "OFFLINE_NOTICE",
    "add_csp",
    "add_offline_notice",
    "csp_policy",
    "OfflineExportError",
    "asset_registry",
    "external_references",
    "inline_assets",
    "save_map",
]

#: The PyPI package the offline assets come from.
ASSET_PACKAGE = "folium-offline"

_SCRIPT_TAG = re.compile(r'<script\s+src="(?P<url>[^"]+)"\s*>\s*</script>', re.I)
_LINK_TAG = re.compile(r'<link\s+rel="stylesheet"\s+href="(?P<url>[^"]+)"\s*/?>', re.I)

#: Assets folium always links that a page may not need: (URL pattern, "page uses it" pattern).
#: Awesome-Markers drags in Bootstrap CSS, Glyphicons and Font Awesome (whose webfonts
#: would have to be downloaded), so they stand or fall together.
_OPTIONAL_ASSETS: list[tuple[re.Pattern, re.Pattern]] = [
    (re.compile(r"jquery", re.I), re.compile(r"\$\(|\$\.|jQuery")),
    (re.compile(r"bootstrap.*\.js$", re.I), re.compile(r"data-bs-|bootstrap\.|new Modal")),
    (
        re.compile(r"awesome-markers|awesome\.rotate|fontawesome|bootstrap.*\.css$", re.I),
        re.compile(r"AwesomeMarkers"),
    ),
]

# what a page could fetch: url(...) in CSS other than data:, @import, <img src>, <script src>,
# <link href>, <iframe src>
_URL_IN_CSS = re.compile(r"(?<![\w.$])url\(\s*['\"]?(?!data:|#)(?P<url>[^)'\"]+)")
_STYLE_BLOCK = re.compile(r"<style\b[^>]*>(?P<css>.*?)</style>", re.I | re.S)
_STYLE_ATTR = re.compile(r"\bstyle\s*=\s*(?P<q>['\"])(?P<css>.*?)(?P=q)", re.I | re.S)
_IMPORT = re.compile(r"@import\s+(?:url\()?['\"]?(?P<url>[^'\");]+)", re.I)
_SRC_ATTR = re.compile(
    r"<(?:script|img|iframe|source|embed)\b[^>]*?\bsrc\s*=\s*['\"](?P<url>[^'\"]+)", re.I
)
_LINK_HREF = re.compile(r"<link\b[^>]*?\bhref\s*=\s*['\"](?P<url>[^'\"]+)", re.I)
_INLINE_SCRIPT = re.compile(r"<script(?P<attrs>[^>]*)>(?P<code>.*?)</script\s*>", re.I | re.S)
_HEAD_OPEN = re.compile(r"<head\b[^>]*>", re.I)


class OfflineExportError(RuntimeError):
    """The map cannot be written without network references."""


def asset_registry() -> dict[str, str]:
    """CDN URL → file text of every asset the installed ``folium-offline`` package carries."""
    try:
        from offlinefolium.elements import _res  # noqa: PLC0415
    except ImportError as exc:  # pragma: no cover - depends on the environment
        raise OfflineExportError(
            f"offline export needs the {ASSET_PACKAGE!r} package (pip install {ASSET_PACKAGE}); "
            "it supplies Leaflet and its plugins for inlining"
        ) from exc
    return dict(_res)


def _asset_key(url: str) -> tuple[str, str]:
    """(package without version, file name) of a CDN URL, to match another release."""
    parts = [p for p in urlparse(url).path.split("/") if p]
    name = parts[-1] if parts else ""
    package = ""
    for part in parts[:-1]:
        if "@" in part.lstrip("@"):
            package = part.lstrip("@").split("@")[0]
            break
    if not package:
        package = "/".join(p for p in parts[:-1] if not re.fullmatch(r"[\d.]+", p))
    return package.lower(), name.lower()


def _lookup(url: str, registry: dict[str, str], notes: list[str]) -> str:
    if url in registry:
        return registry[url]
    key = _asset_key(url)
    matches = [u for u in registry if _asset_key(u) == key]
    if len(matches) == 1:
        notes.append(f"{url}: inlined {matches[0]} (same file, another release)")
        return registry[matches[0]]
    raise OfflineExportError(
        f"no local copy of {url} in the installed {ASSET_PACKAGE!r} package; "
        "the map uses a plugin that cannot be exported offline"
    )


def _escape_for(tag: str, text: str) -> str:
    # a literal "</script" inside inline code would close the element early
    return re.sub(rf"</({tag})", r"<\\/\1", text, flags=re.I)


def inline_assets(
    html: str, registry: dict[str, str] | None = None, notes: list[str] | None = None
) -> str:
    """Replace CDN ``<script>``/``<link>`` tags by inline code, dropping unused assets.

    Parameters
    ----------
    html : str
        A rendered folium page.
    registry : dict, optional
        CDN URL → text; defaults to :func:`asset_registry`.
    notes : list, optional
        Receives one line per dropped or substituted asset.

    Returns
    -------
    str
        The page with every asset inline.

    Raises
    ------
    OfflineExportError
        If an asset has no local copy, or an inlined stylesheet still points to the network
        (e.g. icon webfonts).
    """
    registry = asset_registry() if registry is None else registry
    notes = [] if notes is None else notes
    own_code = _LINK_TAG.sub("", _SCRIPT_TAG.sub("", html))

    def needed(url: str) -> bool:
        for asset, used in _OPTIONAL_ASSETS:
            if asset.search(url):
                return bool(used.search(own_code))
        return True

    def replace(kind: str) -> Callable[[re.Match], str]:
        def sub(match: re.Match) -> str:
            url = match.group("url")
            if not url.lower().startswith(("http://", "https://", "//")):
                return match.group(0)
            if not needed(url):
                notes.append(f"{url}: not used by this map, left out")
                return ""
            text = _lookup(url, registry, notes)
            if kind == "css":
                remote = [m.group("url") for m in _URL_IN_CSS.finditer(text)]
                remote += [m.group("url") for m in _IMPORT.finditer(text)]
                if remote:
                    raise OfflineExportError(
                        f"{url} loads further files ({', '.join(sorted(set(remote))[:3])}); "
                        "it cannot be used offline"
                    )
                return f"<style>/* {url} */\n{_escape_for('style', text)}\n</style>"
            return f"<script>/* {url} */\n{_escape_for('script', text)}\n</script>"

        return sub

    html = _SCRIPT_TAG.sub(replace("js"), html)
    html = _LINK_TAG.sub(replace("css"), html)
    return html


def external_references(html: str) -> list[str]:
    """Every script, stylesheet, font, image or frame a page would fetch (not ``data:``).

    Tile URL templates of basemaps (JavaScript strings with ``{z}``) are not fetched by the
    page itself and are not listed.
    """
    urls = [m.group("url") for p in (_SRC_ATTR, _LINK_HREF) for m in p.finditer(html)]
    css = [m.group("css") for p in (_STYLE_BLOCK, _STYLE_ATTR) for m in p.finditer(html)]
    for text in css:
        urls += [m.group("url") for p in (_URL_IN_CSS, _IMPORT) for m in p.finditer(text)]
    found = set()
    for url in urls:
        url = url.strip()
        if url.startswith(("data:", "#", "about:")) or "{z}" in url:
            continue
        found.add(url)
    return sorted(found)


def _linked(html: str) -> tuple[list[str], list[str]]:
    """URLs of the scripts and stylesheets the page's ``<head>`` links (folium's CDN assets)."""
    head = html.split("</head>", 1)[0] if "</head>" in html else ""
    scripts = [m.group("url") for m in _SCRIPT_TAG.finditer(head)]
    styles = [m.group("url") for m in _LINK_TAG.finditer(head)]
    web = ("https://", "http://")
    return [u for u in scripts if u.startswith(web)], [u for u in styles if u.startswith(web)]


def _origin(url: str) -> str:
    parts = urlparse(url)
    return f"{parts.scheme}://{parts.netloc}"


def csp_policy(html: str, online: bool = False) -> str:
    """The Content-Security-Policy of a map page: its inline scripts by hash only.

    ``script-src`` lists the SHA-256 of every inline ``<script>`` in ``html`` and nothing else,
    so inline event handlers, ``javascript:`` URLs and scripts added later (by a name that
    reached the page unescaped) are refused by the browser. Styles may be inline (Leaflet
    positions everything with them); images may be ``data:``/``blob:`` or basemap tiles over
    HTTP(S); fonts only ``data:``; no frames, plugins, forms or connections.

    With ``online``, the scripts and stylesheets the page's ``<head>`` links from CDNs are
    allowed too, each by its exact URL (not the whole CDN host, which serves anyone's code),
    and fonts from the stylesheets' hosts (Font Awesome, Glyphicons).
    """
    hashes = []
    for m in _INLINE_SCRIPT.finditer(html):
        if re.search(r"\bsrc\s*=", m.group("attrs"), re.I):
            continue
        digest = hashlib.sha256(m.group("code").encode("utf-8")).digest()
        hashes.append(f"'sha256-{base64.b64encode(digest).decode('ascii')}'")
    scripts, styles = _linked(html) if online else ([], [])
    allowed = " ".join(dict.fromkeys([*hashes, *(_csp_url(u) for u in scripts)])) or "'none'"
    style = " ".join(["'unsafe-inline'", *dict.fromkeys(_csp_url(u) for u in styles)])
    fonts = " ".join(["data:", *dict.fromkeys(_origin(u) for u in styles)])
    return (
        f"default-src 'none'; script-src {allowed}; style-src {style}; "
        f"img-src data: blob: https: http:; font-src {fonts}; connect-src 'none'; "
        "object-src 'none'; frame-src 'none'; base-uri 'none'; form-action 'none'"
    )


def _csp_url(url: str) -> str:
    # a source expression may not hold ; , or spaces: percent-encode them
    return re.sub(r"[;,\s']", lambda m: f"%{ord(m.group(0)):02X}", url)


def add_csp(html: str, online: bool = False) -> str:
    """``html`` with a ``<meta>`` Content-Security-Policy (:func:`csp_policy`) first in its head.

    ``online``: the page loads its assets from CDNs (an online map); they are allowed by URL.
    """
    # the HTML parser turns CR LF and CR into LF before a script's hash is taken
    html = html.replace("\r\n", "\n").replace("\r", "\n")
    meta = f'<meta http-equiv="Content-Security-Policy" content="{csp_policy(html, online)}">'
    m = _HEAD_OPEN.search(html)
    if m is None:
        return meta + html
    return html[: m.end()] + meta + html[m.end() :]


#: Shown by an online map (assets on CDNs) opened without internet, where it would be a blank
#: page; the script right after it removes it once Leaflet has loaded.
OFFLINE_NOTICE = (
    '<div id="lc-offline-note" style="position:fixed;top:0;left:0;right:0;z-index:100000;'
    "padding:12px 16px;background:#fff3cd;color:#5c4400;border-bottom:1px solid #e0c36b;"
    'font:15px/1.5 sans-serif">'
    "本地图需要联网加载地图组件 (Leaflet)。没有网络 (或在政务内网) 时, 请打开同一文件夹中的离线版 "
    "<b>map_offline.html</b> (由 <code>lifecircle map --offline</code> 生成)。</div>\n"
    '<script>if (window.L) { document.getElementById("lc-offline-note").remove(); }</script>\n'
)


def add_offline_notice(html: str) -> str:
    """``html`` (an online map) with :data:`OFFLINE_NOTICE` first in its body."""
    head, sep, rest = html.partition("<body>")
    if not sep:
        return html
    return head + sep + "\n" + OFFLINE_NOTICE + rest


def save_map(
    m: folium.Map, path: str | Path, offline: bool = False, notes: list[str] | None = None
) -> Path:
    """Write a map to an HTML file (UTF-8).

    Parameters
    ----------
    m : folium.Map
    path : str or Path
        The ``.html`` file to write (folders are created).
    offline : bool
        Write one self-contained file: every script and stylesheet inline from installed
        packages, nothing fetched from a CDN, only its own hashed inline scripts allowed to
        run (:func:`add_csp`; see the module docstring). Basemap tiles are
        still requested when the map has a basemap; build it with ``basemap=None`` for a map
        that needs no network at all. An online file (False) carries :data:`OFFLINE_NOTICE`,
        which tells a planner without internet to open ``map_offline.html``, and a
        Content-Security-Policy that admits its hashed inline scripts and the exact CDN files
        folium links (:func:`add_csp` with ``online=True``), nothing else.
    notes : list, optional
        Receives what was dropped or substituted during the offline export.

    Returns
    -------
    Path
        The file written.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    html = m.get_root().render()
    if offline:
        html = inline_assets(html, notes=notes)
        left = external_references(html)
        if left:
            raise OfflineExportError("offline map would still fetch: " + ", ".join(left[:5]))
        html = add_csp(html)
    else:
        html = add_csp(add_offline_notice(html), online=True)
    path.write_text(html, encoding="utf-8")
    return path
