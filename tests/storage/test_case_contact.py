"""A family's phone number and referral are sealed with the rest of the family, come back as
written, and a case sealed before they were asked for still opens."""

from __future__ import annotations

from dataclasses import replace
from datetime import date

import pytest

from fieldapp.domain.errors import RuleViolation
from fieldapp.storage.paths import ProfilePaths
from fieldapp.storage.sealed import SealedTable
from fieldapp.storage.vault import Vault
from tests.conftest import FakeClock
from tests.scanning import found_in
from tests.services.records_helpers import SUPERVISOR, WORKER, make_case, services
from tests.storage.test_record_stores import assert_ciphertext

PHONE = "(815) 555-0142 x12"
SOURCE = "DCFS caseworker Maria Ortiz"


def test_phone_and_referral_round_trip_sealed(vault: Vault, clock: FakeClock,
                                              paths: ProfilePaths) -> None:
    case = make_case(phone=PHONE, referral_source=SOURCE, referral_date=date(2026, 8, 28))
    opened = services(vault, clock, SUPERVISOR).cases.open_case(case)
    read = services(vault, clock, WORKER).cases.get(case.id)
    assert (read.phone, read.referral_source, read.referral_date) == (
        PHONE, SOURCE, date(2026, 8, 28))

    services(vault, clock, SUPERVISOR).cases.update_case(
        replace(opened, phone="+1 815.555.0199", referral_date=None))
    again = services(vault, clock, WORKER).cases.get(case.id)
    assert (again.phone, again.referral_source, again.referral_date) == (
        "+1 815.555.0199", SOURCE, None)

    (body,) = assert_ciphertext(vault, "cases")  # no new plain column, nothing readable
    assert body["phone"] == "+1 815.555.0199" and body["referral_source"] == SOURCE
    files = [p for p in paths.root.rglob("*") if p.is_file()]
    for secret in (PHONE, "+1 815.555.0199", "555-0142", SOURCE, "Maria Ortiz"):
        assert found_in(files, secret) == [], secret


def test_a_case_sealed_before_the_contact_fields_still_opens(vault: Vault,
                                                             clock: FakeClock) -> None:
    case = make_case()
    db, key = vault.open_parts()
    old_body = {"family_name": case.family_name,
                "parents": [{"name": p.name, "relationship": p.relationship,
                             "details": p.details} for p in case.parents],
                "children": [], "address": case.address}
    with db.atomic():
        SealedTable(db, key, "cases").insert(record_id=case.id, body=old_body, plain={
            "status": "open", "coordinator_id": WORKER.user_id, "intact_worker_id": None,
            "supervisor_ids": f'["{SUPERVISOR.user_id}"]', "start_date": "2026-09-01",
            "visits_per_week": 2, "updated_at": "2026-09-01T09:00:00+00:00"})
    read = services(vault, clock, WORKER).cases.get(case.id)
    assert (read.family_name, read.phone, read.referral_source, read.referral_date) == (
        case.family_name, "", "", None)
    changed = services(vault, clock, SUPERVISOR).cases.update_case(
        replace(read, phone="815 555 0142"))
    assert services(vault, clock, WORKER).cases.get(case.id).phone == "815 555 0142"
    assert changed.revision == 2


def test_a_referral_dated_tomorrow_is_refused_and_nothing_is_written(
        vault: Vault, clock: FakeClock) -> None:
    today = services(vault, clock, SUPERVISOR).ws.today()
    with pytest.raises(RuleViolation, match="cannot be in the future"):
        services(vault, clock, SUPERVISOR).cases.open_case(
            make_case(referral_date=date.fromordinal(today.toordinal() + 1)))
    db, _ = vault.open_parts()
    assert db.execute("SELECT count(*) FROM cases").fetchone() == (0,)
    opened = services(vault, clock, SUPERVISOR).cases.open_case(make_case(referral_date=today))
    with pytest.raises(RuleViolation, match="cannot be in the future"):
        services(vault, clock, SUPERVISOR).cases.update_case(
            replace(opened, referral_date=date(2030, 1, 1), phone="815 555 0100"))
    assert services(vault, clock, WORKER).cases.get(opened.id).phone == ""
