"""Program settings: every rule's number in one typed, versioned place, with defaults.

The central server will hand these down later; until then a profile keeps its own copy. Stored
settings carry a version, and `from_json` upgrades older versions step by step.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from decimal import Decimal, InvalidOperation
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from fieldapp.domain.errors import RuleViolation

VERSION = 2

# A common 10-panel urine screen.
DEFAULT_PANEL = (
    "amphetamines", "barbiturates", "benzodiazepines", "cocaine", "marijuana (THC)",
    "methadone", "methamphetamine", "opiates", "oxycodone", "phencyclidine (PCP)",
)
DEFAULT_SERVICES = (
    "recovery coaching", "transport to treatment", "parenting support", "referral",
    "drug screen", "safety check",
)


@dataclass(frozen=True, kw_only=True)
class ProgramSettings:
    """The numbers and lists a program decides.

    Attributes:
        mileage_cap: reimbursable miles per worker and month (IFR: 150).
        rate_per_mile: dollars per reimbursable mile (IRS 2026 standard rate: 0.725).
        visits_per_week: expected home visits per case and week (program default 2).
        late_entry_hours: a note signed later than this after the visit is a late entry.
        random_screens_per_month: how many random screens a case's schedule draws per month.
        panel: the substances a screen tests for.
        services: the services a visit note can record.
        timezone: where the program works; visit times are local to it.
        program_name: the program's name, as the server calls it (printed on exports).
        cosupervision_required: a note is co-signed only when both the intact supervisor and
            the SUD supervisor have co-signed it.
        cosign_deadline_days: a signed note waiting for co-signature longer than this is
            escalated to its case's supervisors and its author.
        draft_stale_days: a draft of a visit older than this shows on the compliance radar.
        mileage_submit_days: a month's mileage is submitted within this many days of the month's
            end (Illinois, 820 ILCS 115/9.5: within 30 days).
        consent_warning_days: a consent expiring within this many days shows on the radar.
        storage_quota_mb: sealed content one person may have stored on the server, every
            revision counted (the server refuses changes beyond it).
    """

    version: int = VERSION
    mileage_cap: Decimal = Decimal(150)
    rate_per_mile: Decimal = Decimal("0.725")
    visits_per_week: int = 2
    late_entry_hours: int = 24
    random_screens_per_month: int = 2
    panel: tuple[str, ...] = DEFAULT_PANEL
    services: tuple[str, ...] = DEFAULT_SERVICES
    timezone: str = "America/Chicago"
    program_name: str = "Family recovery program"
    cosupervision_required: bool = False
    cosign_deadline_days: int = 5
    draft_stale_days: int = 3
    mileage_submit_days: int = 30
    consent_warning_days: int = 30
    storage_quota_mb: int = 1024
    extra: dict[str, Any] = field(default_factory=dict, compare=False)

    def __post_init__(self) -> None:
        problems = []
        if not self.mileage_cap.is_finite():
            problems.append("The mileage cap must be a number of miles.")
        elif self.mileage_cap < 0:
            problems.append("The mileage cap cannot be negative.")
        if not self.rate_per_mile.is_finite():
            problems.append("The rate per mile must be an amount of money.")
        elif self.rate_per_mile < 0:
            problems.append("The rate per mile cannot be negative.")
        if not 0 <= self.visits_per_week <= 14:
            problems.append("Visits per week must be between 0 and 14.")
        if not 1 <= self.late_entry_hours <= 24 * 30:
            problems.append("The late-entry limit must be between 1 hour and 30 days.")
        if not 0 <= self.random_screens_per_month <= 31:
            problems.append("Random screens per month must be between 0 and 31.")
        if not self.panel or len(set(self.panel)) != len(self.panel):
            problems.append("The panel must list each substance once.")
        if not self.services or len(set(self.services)) != len(self.services):
            problems.append("The service list must name each service once.")
        try:
            ZoneInfo(self.timezone)
        except (ZoneInfoNotFoundError, ValueError):
            problems.append(f"{self.timezone} is not a known time zone.")
        problems += self._deadline_problems()
        if problems:
            raise RuleViolation(" ".join(problems))

    def _deadline_problems(self) -> list[str]:
        problems = []
        if not 1 <= self.cosign_deadline_days <= 60:
            problems.append("The co-signature deadline must be between 1 and 60 days.")
        if not 1 <= self.draft_stale_days <= 60:
            problems.append("The stale-draft limit must be between 1 and 60 days.")
        if not 1 <= self.mileage_submit_days <= 365:
            problems.append("The mileage submission limit must be between 1 and 365 days "
                            "after the month ends.")
        if not 1 <= self.consent_warning_days <= 365:
            problems.append("The consent warning must be between 1 and 365 days before expiry.")
        if not 1 <= self.storage_quota_mb <= 1_000_000:
            problems.append("The storage quota must be between 1 MB and 1,000,000 MB a person.")
        return problems

    @property
    def zone(self) -> ZoneInfo:
        return ZoneInfo(self.timezone)

    def to_json(self) -> dict[str, Any]:
        data = asdict(self)
        extra = data.pop("extra")
        # Keys a newer program or server added survive a save by this version.
        data = {**extra, **data}
        data["mileage_cap"] = str(self.mileage_cap)
        data["rate_per_mile"] = str(self.rate_per_mile)
        data["panel"] = list(self.panel)
        data["services"] = list(self.services)
        return data

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> ProgramSettings:
        """Read stored settings, upgrading older versions; unknown keys are kept aside.

        A value of the wrong kind is refused with a `RuleViolation` that names its key, a value
        outside its limits as `__post_init__` says; either way the message is plain words.
        """
        data = dict(data)
        try:
            version = int(data.get("version", 1))
        except (TypeError, ValueError) as exc:
            raise RuleViolation("The stored program settings are damaged.") from exc
        if version > VERSION:
            raise RuleViolation("These settings come from a newer FieldApp; update FieldApp.")
        if version < 1:
            raise RuleViolation("The stored program settings are damaged.")
        while version < VERSION:
            data = UPGRADES[version](data)
            version += 1
        known = {f for f in cls.__dataclass_fields__ if f != "extra"}
        return cls(
            version=VERSION,
            mileage_cap=_amount(data, "mileage_cap", "150"),
            rate_per_mile=_amount(data, "rate_per_mile", "0.725"),
            visits_per_week=_whole(data, "visits_per_week", 2),
            late_entry_hours=_whole(data, "late_entry_hours", 24),
            random_screens_per_month=_whole(data, "random_screens_per_month", 2),
            panel=_names(data, "panel", DEFAULT_PANEL),
            services=_names(data, "services", DEFAULT_SERVICES),
            timezone=str(data.get("timezone", "America/Chicago")),
            program_name=str(data.get("program_name", "Family recovery program"))[:200],
            cosupervision_required=_flag(data, "cosupervision_required", False),
            cosign_deadline_days=_whole(data, "cosign_deadline_days", 5),
            draft_stale_days=_whole(data, "draft_stale_days", 3),
            mileage_submit_days=_whole(data, "mileage_submit_days", 30),
            consent_warning_days=_whole(data, "consent_warning_days", 30),
            storage_quota_mb=_whole(data, "storage_quota_mb", 1024),
            extra={k: v for k, v in data.items() if k not in known},
        )


def _wrong_kind(key: str, kind: str) -> RuleViolation:
    return RuleViolation(f"The program setting {key} must be {kind}.")


def _amount(data: dict[str, Any], key: str, default: str) -> Decimal:
    """A money or mileage setting: a JSON number or a string of one (limits: `__post_init__`)."""
    value = data.get(key, default)
    if isinstance(value, bool) or not isinstance(value, int | float | str):
        raise _wrong_kind(key, "a number")
    try:
        return Decimal(str(value))
    except InvalidOperation as exc:
        raise _wrong_kind(key, "a number") from exc


def _whole(data: dict[str, Any], key: str, default: int) -> int:
    """A count setting: a whole JSON number (3 or 3.0) or a string of digits ("3"), never a
    fraction, a yes/no or anything else."""
    value = data.get(key, default)
    if isinstance(value, float) and value.is_integer():
        return int(value)
    if isinstance(value, bool) or not isinstance(value, int | str):
        raise _wrong_kind(key, "a whole number")
    try:
        return int(value)
    except ValueError as exc:
        raise _wrong_kind(key, "a whole number") from exc


def _names(data: dict[str, Any], key: str, default: tuple[str, ...]) -> tuple[str, ...]:
    """A list setting: a list of strings (a single string is not read as its letters)."""
    value = data.get(key, default)
    if not isinstance(value, list | tuple) or not all(isinstance(v, str) for v in value):
        raise _wrong_kind(key, "a list of names")
    return tuple(value)


def _flag(data: dict[str, Any], key: str, default: bool) -> bool:
    """A yes/no setting as JSON carries it; anything else is damage, never read as yes."""
    value = data.get(key, default)
    if isinstance(value, bool):
        return value
    raise _wrong_kind(key, "true or false")

def _upgrade_1_to_2(data: dict[str, Any]) -> dict[str, Any]:
    """Version 2 adds co-supervision (off: one co-signature, as before) and the compliance
    radar's deadlines. A value a version-1 profile kept aside from a newer server stands."""
    return {"cosupervision_required": False, "cosign_deadline_days": 5, "draft_stale_days": 3,
            "mileage_submit_days": 30, "consent_warning_days": 30, **data, "version": 2}


# version -> function turning that version's dict into the next version's.
UPGRADES: dict[int, Callable[[dict[str, Any]], dict[str, Any]]] = {1: _upgrade_1_to_2}
