"""Local time (SPEC §2): zone names checked against the IANA database, times shown and
read in a person's zone, DST included."""
import pytest

from gancio_like import timezones
from gancio_like.models import User

SUMMER_NOON_UTC = 1906804800  # 2030-06-04 12:00 UTC
WINTER_NOON_UTC = 1891339200  # 2029-12-07 12:00 UTC


def test_known_and_unknown_zone_names():
    assert timezones.is_zone("Europe/Rome") and timezones.is_zone("UTC")
    for bad in ("", "Mars/Olympus", "../etc/passwd", "europe/rome", "Europe/Rome "):
        assert not timezones.is_zone(bad)


def test_local_text_names_the_zone_and_follows_dst():
    assert timezones.local_text(SUMMER_NOON_UTC, "Europe/Rome") == "Tue 4 Jun 2030, 14:00 CEST"
    assert timezones.local_text(WINTER_NOON_UTC, "Europe/Rome") == "Fri 7 Dec 2029, 13:00 CET"
    assert timezones.local_text(SUMMER_NOON_UTC, "UTC") == "Tue 4 Jun 2030, 12:00 UTC"


def test_form_values_round_trip_in_the_zone():
    assert timezones.to_form(SUMMER_NOON_UTC, "America/New_York") == "2030-06-04T08:00"
    assert timezones.from_form("2030-06-04T08:00", "America/New_York") == SUMMER_NOON_UTC
    assert timezones.to_form(None, "UTC") == ""
    with pytest.raises(ValueError):
        timezones.from_form("4 June", "UTC")


def test_an_unknown_stored_zone_falls_back_to_utc():
    assert timezones.local_text(SUMMER_NOON_UTC, "Gone/Away").endswith("12:00 UTC")


def test_a_persons_zone_else_the_instance_default():
    person = User(1, "ann", "", "", False, 0, timezone="Asia/Tokyo")
    assert timezones.zone_for(person, "Europe/Rome") == "Asia/Tokyo"
    assert timezones.zone_for(User(2, "bob", "", "", False, 0), "Europe/Rome") == "Europe/Rome"
    assert timezones.zone_for(None, "UTC") == "UTC"
