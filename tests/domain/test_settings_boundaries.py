"""Program settings at the edges of their limits, from both sides and word for word (the
administrator setting up the program acts on each message), and what a version-2 file that
leaves a setting out reads as."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import pytest

from fieldapp.domain.errors import RuleViolation
from fieldapp.domain.settings import VERSION, ProgramSettings


def refusal(**overrides: Any) -> str:
    with pytest.raises(RuleViolation) as caught:
        ProgramSettings(**overrides)
    return caught.value.message


def stored_refusal(data: dict[str, Any]) -> str:
    with pytest.raises(RuleViolation) as caught:
        ProgramSettings.from_json(data)
    return caught.value.message


# Each limit: the last value allowed, the first refused, and the exact words of the refusal.
LIMITS = [
    ("mileage_cap", Decimal(0), Decimal("-0.01"), "The mileage cap cannot be negative."),
    ("rate_per_mile", Decimal(0), Decimal("-0.001"), "The rate per mile cannot be negative."),
    ("visits_per_week", 0, -1, "Visits per week must be between 0 and 14."),
    ("visits_per_week", 14, 15, "Visits per week must be between 0 and 14."),
    ("late_entry_hours", 1, 0, "The late-entry limit must be between 1 hour and 30 days."),
    ("late_entry_hours", 720, 721, "The late-entry limit must be between 1 hour and 30 days."),
    ("random_screens_per_month", 0, -1, "Random screens per month must be between 0 and 31."),
    ("random_screens_per_month", 31, 32, "Random screens per month must be between 0 and 31."),
    ("panel", ("cocaine",), ("cocaine", "cocaine"), "The panel must list each substance once."),
    ("services", ("referral",), (), "The service list must name each service once."),
    ("cosign_deadline_days", 1, 0, "The co-signature deadline must be between 1 and 60 days."),
    ("cosign_deadline_days", 60, 61,
     "The co-signature deadline must be between 1 and 60 days."),
    ("draft_stale_days", 1, 0, "The stale-draft limit must be between 1 and 60 days."),
    ("draft_stale_days", 60, 61, "The stale-draft limit must be between 1 and 60 days."),
    ("consent_warning_days", 1, 0,
     "The consent warning must be between 1 and 365 days before expiry."),
    ("consent_warning_days", 365, 366,
     "The consent warning must be between 1 and 365 days before expiry."),
    ("storage_quota_mb", 1, 0,
     "The storage quota must be between 1 MB and 1,000,000 MB a person."),
    ("storage_quota_mb", 1_000_000, 1_000_001,
     "The storage quota must be between 1 MB and 1,000,000 MB a person."),
]


@pytest.mark.parametrize(("key", "inside", "outside", "message"), LIMITS,
                         ids=[f"{k} {o}" for k, _, o, _ in LIMITS])
def test_each_limit_from_both_sides_in_these_words(key: str, inside: Any, outside: Any,
                                                   message: str) -> None:
    assert getattr(ProgramSettings(**{key: inside}), key) == inside
    assert refusal(**{key: outside}) == message


def test_several_problems_are_sentences_one_after_the_other() -> None:
    assert refusal(visits_per_week=15, storage_quota_mb=0) == (
        "Visits per week must be between 0 and 14. "
        "The storage quota must be between 1 MB and 1,000,000 MB a person.")


@pytest.mark.parametrize("version", ["two", 0])
def test_a_damaged_version_is_refused_in_these_words(version: Any) -> None:
    assert stored_refusal({"version": version}) == "The stored program settings are damaged."


def test_a_newer_version_is_refused_in_these_words() -> None:
    assert stored_refusal({"version": VERSION + 1}) == \
        "These settings come from a newer FieldApp; update FieldApp."


def test_a_version_2_file_without_a_setting_reads_as_the_default() -> None:
    # Without the upgrade from version 1 filling them in, from_json's own defaults apply.
    assert ProgramSettings.from_json({"version": VERSION}) == ProgramSettings()


def test_the_storage_quota_is_read_from_the_file() -> None:
    assert ProgramSettings.from_json({"storage_quota_mb": 2048}).storage_quota_mb == 2048
    assert ProgramSettings.from_json({"version": VERSION}).storage_quota_mb == 1024


def test_the_programs_name_is_kept_to_200_characters() -> None:
    assert ProgramSettings.from_json({"program_name": "R" * 250}).program_name == "R" * 200
    assert ProgramSettings.from_json({"program_name": "R" * 200}).program_name == "R" * 200


def test_a_newer_servers_key_named_extra_survives_a_save() -> None:
    stored = {**ProgramSettings().to_json(), "extra": {"geofence_km": 30}}
    settings = ProgramSettings.from_json(stored)
    assert settings.extra == {"extra": {"geofence_km": 30}}
    assert settings.to_json()["extra"] == {"geofence_km": 30}
