"""Speed profiles and the one place thresholds become search costs."""

import pytest

from lifecircle.settings import PROFILES, get_profile, threshold_cost


def test_profiles_speeds():
    assert PROFILES["adult"].speed_mps == 1.2
    assert PROFILES["elderly"].speed_mps == 0.9
    assert PROFILES["elderly"].time_attr == "travel_time_elderly"


@pytest.mark.parametrize(
    ("profile", "minutes", "metres"),
    [("adult", 5, 360.0), ("adult", 15, 1080.0), ("elderly", 10, 540.0), ("elderly", 15, 810.0)],
)
def test_minutes_to_metres_at_speed(profile, minutes, metres):
    assert threshold_cost(profile, minutes=minutes) == pytest.approx(metres)


def test_gb50180_distances():
    p = get_profile("gb50180")
    assert p.is_distance
    assert [threshold_cost(p, minutes=m) for m in (5, 10, 15)] == [300.0, 500.0, 1000.0]
    with pytest.raises(ValueError, match="metres"):
        p.metres_for_minutes(20)


def test_metres_pass_through_and_errors():
    assert threshold_cost("elderly", metres=800) == 800.0
    with pytest.raises(ValueError):
        threshold_cost("elderly")
    with pytest.raises(ValueError, match="unknown speed profile"):
        get_profile("runner")


def test_minutes_for_metres():
    assert get_profile("elderly").minutes_for_metres(540.0) == pytest.approx(10.0)
