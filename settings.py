"""Explicit settings: speed profiles, life-circle thresholds and data locations.

Like ``osmnx.settings`` this is one small, documented place for everything that is a choice
rather than a fact of the data. Functions take a :class:`Settings` (or a profile) explicitly;
nothing here is read from a global at import time except the defaults.

Speed profiles
--------------
``adult``
    1.2 m/s (72 m/min): a healthy adult's walking speed.
``elderly``
    0.9 m/s (54 m/min): a typical older pedestrian's speed, the one used for 为老服务.
``gb50180``
    A *distance* profile: GB 50180-2018 sets the 5/10/15-minute life circles at walking distances of
    about 300/500/1000 m (the standard gives 800–1000 m for 15 minutes; we take the upper bound).
    Thresholds given in minutes are converted through ``distance_for_minutes``; for reporting a
    nominal speed of 1.0 m/s turns metres into minutes.

Thresholds are converted to edge costs in one place: :func:`threshold_cost`.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path

#: Environment variable that points to the shared sample data (``../shared/data`` in CI).
DATA_ENV = "LIFECIRCLE_DATA"

#: UTM zone 51N: metric CRS for all of Shanghai.
SHANGHAI_UTM = "EPSG:32651"
WGS84 = "EPSG:4326"


@dataclass(frozen=True)
class OnlineSettings:
    """Limits of every call to OpenStreetMap's online services (Overpass, Nominatim).

    Parameters
    ----------
    timeout_s : float
        Connect and read timeout of one request, in seconds (CLI ``--osm-timeout``). A server
        that accepts the connection and never answers costs this long once: a read timeout is
        not retried.
    retries : int
        How many times a refused connection, HTTP 429 (too many requests) or 5xx answer is
        retried before giving up (CLI ``--osm-retries``). Timeouts are not retried.
    backoff_s : float
        First pause between retries; it doubles each time (a server's ``Retry-After`` is
        honoured up to ``max_backoff_s``).
    max_backoff_s : float
        Longest single pause.
    refused_backoff_s : float
        First pause after a refused or reset connection (doubles): the server is down or not
        there, so the default 3 retries cost under 2 s, not ``backoff_s``'s 14 s.
    """

    timeout_s: float = 30.0
    retries: int = 3
    backoff_s: float = 2.0
    max_backoff_s: float = 30.0
    refused_backoff_s: float = 0.25


#: The limits used unless a caller sets others (:func:`lifecircle.geo.osm_online.online_limits`).
DEFAULT_ONLINE = OnlineSettings()

#: Folder of the project's own data files (YAML registers), inside the installed package.
PACKAGE_DATA = Path(__file__).resolve().parent / "data"


@dataclass(frozen=True)
class SpeedProfile:
    """A named way of turning walking distance into time.

    Parameters
    ----------
    name : str
        Identifier used in column names (``travel_time_<name>``).
    speed_mps : float
        Walking speed in metres per second.
    label : str
        Chinese label for reports.
    distance_for_minutes : dict of int to float, optional
        For distance profiles (GB 50180): the walking distance in metres that stands for a
        threshold given in minutes. Empty for pure speed profiles.
    """

    name: str
    speed_mps: float
    label: str
    distance_for_minutes: dict[int, float] = field(default_factory=dict)

    @property
    def is_distance(self) -> bool:
        """True for profiles whose thresholds are walking distances (GB 50180 mode)."""
        return bool(self.distance_for_minutes)

    @property
    def time_attr(self) -> str:
        """Name of the edge attribute holding this profile's travel time in seconds."""
        return f"travel_time_{self.name}"

    def metres_for_minutes(self, minutes: float) -> float:
        """Walking distance in metres that a threshold of ``minutes`` allows."""
        if self.is_distance:
            key = int(minutes) if float(minutes).is_integer() else minutes
            if key in self.distance_for_minutes:
                return float(self.distance_for_minutes[key])
            raise ValueError(
                f"profile {self.name!r} defines distances only for "
                f"{sorted(self.distance_for_minutes)} minutes, not {minutes}; "
                "give the threshold in metres instead"
            )
        return float(minutes) * 60.0 * self.speed_mps

    def minutes_for_metres(self, metres):
        """Walking time in minutes for a distance (array-like allowed)."""
        return metres / self.speed_mps / 60.0


PROFILES: dict[str, SpeedProfile] = {
    "adult": SpeedProfile("adult", 1.2, "成年人步行 (1.2 m/s)"),
    "elderly": SpeedProfile("elderly", 0.9, "老年人步行 (0.9 m/s)"),
    "gb50180": SpeedProfile(
        "gb50180",
        1.0,
        "GB 50180-2018 步行距离 (300/500/1000 m)",
        {5: 300.0, 10: 500.0, 15: 1000.0},
    ),
}

#: The life-circle thresholds of GB 50180-2018, in minutes.
DEFAULT_MINUTES: tuple[int, ...] = (5, 10, 15)


def get_profile(profile: str | SpeedProfile) -> SpeedProfile:
    """Return a :class:`SpeedProfile` by name (or pass one through)."""
    if isinstance(profile, SpeedProfile):
        return profile
    try:
        return PROFILES[profile]
    except KeyError:
        raise ValueError(f"unknown speed profile {profile!r}; known: {sorted(PROFILES)}") from None


def threshold_cost(
    profile: str | SpeedProfile, minutes: float | None = None, metres: float | None = None
) -> float:
    """Convert a threshold to the search cost used everywhere: walking metres.

    Network searches run on edge length; a time threshold at a speed is the same as a distance
    threshold of ``minutes * 60 * speed``. This is the single place where that conversion happens.

    Parameters
    ----------
    profile : str or SpeedProfile
    minutes : float, optional
        Threshold in minutes (converted with the profile).
    metres : float, optional
        Threshold as a walking distance; used as is.

    Returns
    -------
    float
        The threshold in walking metres.
    """
    if (minutes is None) == (metres is None):
        raise ValueError("give exactly one of minutes or metres")
    if metres is not None:
        return float(metres)
    return get_profile(profile).metres_for_minutes(minutes)


@dataclass
class Settings:
    """Run-wide settings, passed explicitly.

    Attributes
    ----------
    profile : str
        Default speed profile name.
    minutes : tuple of int
        Default thresholds in minutes.
    metric_crs : str or None
        CRS for metric work; ``None`` derives the UTM zone from the data (EPSG:32651 in Shanghai).
    max_snap_m : float
        Points farther than this from the network are reported and left out of searches.
    buffer_m : float or None
        Network download buffer around a boundary; ``None`` uses the largest threshold's reach.
    cache_folder : str or None
        osmnx HTTP cache folder; ``None`` keeps osmnx's default (``./cache``).
    """

    profile: str = "elderly"
    minutes: tuple[int, ...] = DEFAULT_MINUTES
    metric_crs: str | None = None
    max_snap_m: float = 250.0
    buffer_m: float | None = None
    cache_folder: str | None = None


def data_dir(required: bool = False) -> Path | None:
    """The shared sample-data folder named by ``$LIFECIRCLE_DATA`` (or ``None``)."""
    value = os.environ.get(DATA_ENV)
    if not value:
        if required:
            raise RuntimeError(f"set {DATA_ENV} to the sample data folder (e.g. ../shared/data)")
        return None
    path = Path(value).expanduser().resolve()
    if not path.is_dir():
        raise RuntimeError(f"{DATA_ENV}={value} is not a folder")
    return path
