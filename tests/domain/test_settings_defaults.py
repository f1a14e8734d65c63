"""A new program's service list, as the visit note offers it before anyone changes the
settings: every one of the six services, in this order."""

from __future__ import annotations

from fieldapp.domain.settings import ProgramSettings


def test_a_new_program_offers_these_six_services_in_this_order() -> None:
    assert ProgramSettings().services == (
        "recovery coaching", "transport to treatment", "parenting support", "referral",
        "drug screen", "safety check",
    )
