"""Figures shared by charts and the static map: a CJK font, Chinese-or-English text, saving."""

from __future__ import annotations

import warnings
from pathlib import Path

from ..vocabulary import CATEGORY_EN, CATEGORY_LABELS

#: Preferred CJK fonts, best first.
CJK_FONTS = (
    "Noto Sans CJK SC",
    "Noto Sans SC",
    "Source Han Sans SC",
    "Source Han Sans CN",
    "WenQuanYi Zen Hei",
    "WenQuanYi Micro Hei",
    "Microsoft YaHei",
    "SimHei",
    "PingFang SC",
    "Hiragino Sans GB",
    "Noto Sans CJK JP",
    "Noto Serif CJK SC",
    "AR PL UMing CN",
    "Droid Sans Fallback",
)
_CJK_FILE_HINTS = (
    "cjk",
    "wqy",
    "wenquanyi",
    "simhei",
    "msyh",
    "sourcehan",
    "notosanssc",
    "pingfang",
    "hiragino",
    "uming",
    "ukai",
    "droidsansfallback",
)

MINUTE_COLOURS = {5: "#08519c", 10: "#3182bd", 15: "#9ecae1"}


class NoCJKFontWarning(UserWarning):
    """No font with Chinese glyphs was found: charts fall back to English labels."""


# ---------------------------------------------------------------------------------------- fonts
_FONT_CACHE: list[str | None] = []


def cjk_font(refresh: bool = False) -> str | None:
    """Name of an installed font that draws Chinese, registered with matplotlib (or None).

    Looks in matplotlib's font list first, then (its cache may predate the font's installation)
    among the system's font files whose names suggest CJK, adding them to the font manager.
    """
    if _FONT_CACHE and not refresh:
        return _FONT_CACHE[0]
    from matplotlib import font_manager as fm

    def pick() -> str | None:
        names = {f.name for f in fm.fontManager.ttflist}
        for want in CJK_FONTS:
            if want in names:
                return want
        for n in sorted(names):
            if "CJK" in n and "Mono" not in n:
                return n
        return None

    name = pick()
    if name is None:
        for path in fm.findSystemFonts():
            low = Path(path).name.lower().replace("-", "").replace("_", "")
            if any(h in low for h in _CJK_FILE_HINTS):
                try:
                    fm.fontManager.addfont(path)
                except (OSError, RuntimeError, ValueError):
                    continue
        name = pick()
    _FONT_CACHE[:] = [name]
    return name


def font_or_warn() -> str | None:
    name = cjk_font()
    if name is None:
        warnings.warn(
            "no CJK font found (install Debian fonts-noto-cjk): charts use English "
            "labels instead of Chinese",
            NoCJKFontWarning,
            stacklevel=3,
        )
    return name


class Text:
    """Chinese text when a CJK font is available, English otherwise."""

    def __init__(self, zh_ok: bool):
        self.zh = zh_ok

    def __call__(self, zh: str, en: str) -> str:
        return zh if self.zh else en

    def category(self, cat: str, labels: dict[str, str]) -> str:
        if self.zh:
            return labels.get(cat, CATEGORY_LABELS.get(cat, cat))
        return CATEGORY_EN.get(cat, cat if cat.isascii() else "?")


def save_figure(fig, path: Path, dpi: int) -> Path:
    """Save a figure; missing glyphs become a warning naming the file, never silent tofu."""
    import matplotlib.pyplot as plt

    path.parent.mkdir(parents=True, exist_ok=True)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        fig.savefig(path, dpi=dpi)
    plt.close(fig)
    missing = [str(w.message) for w in caught if "missing from font" in str(w.message)]
    if missing:
        warnings.warn(
            f"{path.name}: some characters have no glyph in the chosen font: {missing[0]}",
            NoCJKFontWarning,
            stacklevel=3,
        )
    return path


def rc_params(font: str | None) -> dict:
    rc = {"axes.unicode_minus": False, "font.size": 10}
    if font:
        rc["font.family"] = "sans-serif"
        rc["font.sans-serif"] = [font, "DejaVu Sans"]
    return rc
