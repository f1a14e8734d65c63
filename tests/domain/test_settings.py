"""Program settings: the defaults, the JSON round trip, version upgrades and refused values."""

from __future__ import annotations

import json
from decimal import Decimal
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from fieldapp.domain.errors import RuleViolation
from fieldapp.domain.settings import (
    DEFAULT_PANEL,
    DEFAULT_SERVICES,
    UPGRADES,
    VERSION,
    ProgramSettings,
)


def test_defaults_are_the_programs_numbers() -> None:
    settings = ProgramSettings()
    assert settings.version == VERSION == 2
    assert settings.mileage_cap == Decimal(150)
    assert settings.rate_per_mile == Decimal("0.725")
    assert settings.visits_per_week == 2
    assert settings.late_entry_hours == 24
    assert settings.random_screens_per_month == 2
    assert settings.timezone == "America/Chicago"
    assert settings.cosupervision_required is False
    assert settings.cosign_deadline_days == 5
    assert settings.draft_stale_days == 3
    assert settings.mileage_submit_days == 30  # Illinois, 820 ILCS 115/9.5
    assert settings.consent_warning_days == 30
    assert settings.extra == {}


def test_the_default_panel_is_a_ten_panel() -> None:
    settings = ProgramSettings()
    assert settings.panel == DEFAULT_PANEL
    assert len(settings.panel) == len(set(settings.panel)) == 10
    assert {"cocaine", "opiates", "methamphetamine", "marijuana (THC)"} <= set(settings.panel)
    assert settings.services == DEFAULT_SERVICES
    assert "drug screen" in settings.services


def test_zone_is_the_programs_time_zone() -> None:
    assert ProgramSettings().zone == ZoneInfo("America/Chicago")
    assert ProgramSettings(timezone="Europe/Berlin").zone == ZoneInfo("Europe/Berlin")


# --- JSON ---------------------------------------------------------------------------------------


CUSTOM = ProgramSettings(
    mileage_cap=Decimal("200.5"), rate_per_mile=Decimal("0.67"), visits_per_week=3,
    late_entry_hours=48, random_screens_per_month=4, panel=("cocaine", "opiates"),
    services=("referral", "safety check"), timezone="America/New_York",
    cosupervision_required=True, cosign_deadline_days=7, draft_stale_days=2,
    mileage_submit_days=45, consent_warning_days=14,
)


@pytest.mark.parametrize("settings", [ProgramSettings(), CUSTOM], ids=["defaults", "custom"])
def test_json_round_trip(settings: ProgramSettings) -> None:
    data = settings.to_json()
    # It must survive being written as text, as a profile stores it.
    back = ProgramSettings.from_json(json.loads(json.dumps(data)))
    assert back == settings
    assert back.mileage_cap == settings.mileage_cap
    assert back.panel == settings.panel


def test_to_json_writes_money_as_strings_and_lists() -> None:
    data = CUSTOM.to_json()
    assert data["version"] == VERSION
    assert data["mileage_cap"] == "200.5"
    assert data["rate_per_mile"] == "0.67"
    assert data["panel"] == ["cocaine", "opiates"]
    assert data["services"] == ["referral", "safety check"]
    assert data["timezone"] == "America/New_York"
    assert "extra" not in data


def test_missing_keys_take_the_defaults() -> None:
    assert ProgramSettings.from_json({}) == ProgramSettings()
    assert ProgramSettings.from_json({"mileage_cap": "99"}).mileage_cap == Decimal(99)


def test_a_newer_version_is_refused() -> None:
    data = ProgramSettings().to_json() | {"version": VERSION + 1}
    with pytest.raises(RuleViolation, match="newer FieldApp; update FieldApp"):
        ProgramSettings.from_json(data)


def test_unknown_keys_are_kept_in_extra() -> None:
    data = ProgramSettings().to_json() | {"geofence_km": 30, "note": "from the server"}
    settings = ProgramSettings.from_json(data)
    assert settings.extra == {"geofence_km": 30, "note": "from the server"}
    # Known keys never land in extra, and extra does not make settings differ.
    assert not set(settings.extra) & set(ProgramSettings().to_json())
    assert settings == ProgramSettings()


@pytest.mark.parametrize(("key", "value", "kind"), [
    ("mileage_cap", "lots", "a number"),
    ("rate_per_mile", [1, 2], "a number"),
    ("visits_per_week", "two", "a whole number"),
    ("late_entry_hours", None, "a whole number"),
    ("panel", None, "a list of names"),
])
def test_damaged_values_are_refused_in_plain_words(key: str, value: Any, kind: str) -> None:
    # The message names the setting (tests/domain/test_settings_values.py has every kind).
    with pytest.raises(RuleViolation) as refused:
        ProgramSettings.from_json({key: value})
    assert refused.value.message == f"The program setting {key} must be {kind}."


@pytest.mark.parametrize(("key", "value", "message"), [
    ("mileage_cap", "NaN", "The mileage cap must be a number of miles."),
    ("mileage_cap", "Infinity", "The mileage cap must be a number of miles."),
    ("rate_per_mile", "-Infinity", "The rate per mile must be an amount of money."),
])
def test_values_that_are_not_numbers_are_named(key: str, value: str, message: str) -> None:
    with pytest.raises(RuleViolation) as refused:
        ProgramSettings.from_json({key: value})
    assert refused.value.message == message


@pytest.mark.parametrize("version", ["two", None, 0, -1])
def test_a_damaged_version_is_refused_in_plain_words(version: Any) -> None:
    # Regression: a damaged or non-positive version once escaped as ValueError or KeyError.
    with pytest.raises(RuleViolation, match=r"The stored program settings are damaged\."):
        ProgramSettings.from_json({"version": version})


def test_from_json_keeps_the_specific_message_of_a_refused_value() -> None:
    with pytest.raises(RuleViolation, match=r"The mileage cap cannot be negative\."):
        ProgramSettings.from_json({"mileage_cap": "-1"})


# --- refused values -----------------------------------------------------------------------------


INVALID: dict[str, tuple[dict[str, Any], str]] = {
    "negative cap": ({"mileage_cap": Decimal(-1)}, "The mileage cap cannot be negative."),
    "negative rate": ({"rate_per_mile": Decimal("-0.01")}, "The rate per mile cannot be negative."),
    "visits -1": ({"visits_per_week": -1}, "Visits per week must be between 0 and 14."),
    "visits 15": ({"visits_per_week": 15}, "Visits per week must be between 0 and 14."),
    "late 0 h": ({"late_entry_hours": 0}, "between 1 hour and 30 days"),
    "late 721 h": ({"late_entry_hours": 721}, "between 1 hour and 30 days"),
    "screens -1": ({"random_screens_per_month": -1}, "between 0 and 31"),
    "screens 32": ({"random_screens_per_month": 32}, "between 0 and 31"),
    "empty panel": ({"panel": ()}, "The panel must list each substance once."),
    "duplicate panel": ({"panel": ("cocaine", "opiates", "cocaine")},
                        "The panel must list each substance once."),
    "empty services": ({"services": ()}, "The service list must name each service once."),
    "duplicate services": ({"services": ("referral", "referral")},
                           "The service list must name each service once."),
    "unknown zone": ({"timezone": "America/Springfield"},
                     "America/Springfield is not a known time zone."),
    "malformed zone": ({"timezone": "../etc/passwd"}, "is not a known time zone."),
    "co-sign 0 days": ({"cosign_deadline_days": 0},
                       "The co-signature deadline must be between 1 and 60 days."),
    "co-sign 61 days": ({"cosign_deadline_days": 61}, "between 1 and 60 days"),
    "stale draft 0": ({"draft_stale_days": 0},
                      "The stale-draft limit must be between 1 and 60 days."),
    "stale draft 61": ({"draft_stale_days": 61}, "stale-draft limit"),
    "mileage 0 days": ({"mileage_submit_days": 0},
                       "The mileage submission limit must be between 1 and 365 days after the "
                       "month ends."),
    "mileage 366 days": ({"mileage_submit_days": 366}, "mileage submission limit"),
    "consent 0 days": ({"consent_warning_days": 0},
                       "The consent warning must be between 1 and 365 days before expiry."),
    "consent 366 days": ({"consent_warning_days": 366}, "consent warning"),
}


@pytest.mark.parametrize("case", INVALID.values(), ids=INVALID.keys())
def test_invalid_values_are_refused(case: tuple[dict[str, Any], str]) -> None:
    overrides, message = case
    with pytest.raises(RuleViolation) as caught:
        ProgramSettings(**overrides)
    assert message in caught.value.message


@pytest.mark.parametrize("overrides", [
    {"mileage_cap": Decimal(0)},
    {"rate_per_mile": Decimal(0)},
    {"visits_per_week": 0},
    {"visits_per_week": 14},
    {"late_entry_hours": 1},
    {"late_entry_hours": 720},
    {"random_screens_per_month": 0},
    {"random_screens_per_month": 31},
    {"panel": ("cocaine",)},
    {"timezone": "UTC"},
    {"cosign_deadline_days": 1}, {"cosign_deadline_days": 60},
    {"draft_stale_days": 1}, {"draft_stale_days": 60},
    {"mileage_submit_days": 1}, {"mileage_submit_days": 365},
    {"consent_warning_days": 1}, {"consent_warning_days": 365},
], ids=str)
def test_boundary_values_are_accepted(overrides: dict[str, Any]) -> None:
    settings = ProgramSettings(**overrides)
    for key, value in overrides.items():
        assert getattr(settings, key) == value


def test_every_problem_is_named_at_once() -> None:
    with pytest.raises(RuleViolation) as caught:
        ProgramSettings(mileage_cap=Decimal(-5), timezone="Mars/Olympus_Mons")
    assert "The mileage cap cannot be negative." in caught.value.message
    assert "Mars/Olympus_Mons is not a known time zone." in caught.value.message


def test_keys_from_a_newer_program_survive_a_save() -> None:
    stored = {**ProgramSettings().to_json(), "geofence_km": 30}
    again = ProgramSettings.from_json(ProgramSettings.from_json(stored).to_json())
    assert again.extra == {"geofence_km": 30}


# --- version 1 to 2 -----------------------------------------------------------------------------


VERSION_1 = {  # as FieldApp 1 stored it (`to_json` of version 1)
    "version": 1, "mileage_cap": "120", "rate_per_mile": "0.67", "visits_per_week": 3,
    "late_entry_hours": 48, "random_screens_per_month": 4, "panel": ["cocaine", "opiates"],
    "services": ["referral"], "timezone": "America/New_York", "program_name": "Riverbend",
}


def test_version_1_upgrades_to_2_with_co_supervision_off_and_the_radar_defaults() -> None:
    upgraded = UPGRADES[1](dict(VERSION_1))
    assert upgraded == {**VERSION_1, "version": 2, "cosupervision_required": False,
                        "cosign_deadline_days": 5, "draft_stale_days": 3,
                        "mileage_submit_days": 30, "consent_warning_days": 30}
    settings = ProgramSettings.from_json(VERSION_1)
    assert settings.version == 2
    assert (settings.mileage_cap, settings.visits_per_week, settings.program_name) == (
        Decimal(120), 3, "Riverbend")
    assert settings.cosupervision_required is False
    assert settings.extra == {}
    assert settings.to_json()["version"] == 2


def test_a_value_a_version_1_profile_kept_from_a_newer_server_stands() -> None:
    """A version-1 laptop keeps a newer server's keys aside (`extra`); after the update they are
    the program's rules, not the defaults."""
    kept = {**VERSION_1, "cosupervision_required": True, "cosign_deadline_days": 2}
    settings = ProgramSettings.from_json(kept)
    assert settings.cosupervision_required is True
    assert settings.cosign_deadline_days == 2
    assert settings.draft_stale_days == 3


@pytest.mark.parametrize("value", ["true", "yes", 1, None])
def test_co_supervision_is_true_or_false_never_guessed(value: Any) -> None:
    with pytest.raises(RuleViolation, match=r"cosupervision_required must be true or false\."):
        ProgramSettings.from_json({"cosupervision_required": value})
