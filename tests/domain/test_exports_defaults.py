"""Export requests as a person first fills them in: a PDF unless they choose a spreadsheet, no
worker chosen until they choose one, everyone's accounting unless they name a person; the kind
of information each report discloses (what a consent must cover); and spreadsheet cells that
only look like formulas when they start like one."""

from __future__ import annotations

from datetime import date

import pytest

from fieldapp.domain.consent import Information, Recipient, RecipientKind
from fieldapp.domain.disclosure import Terms
from fieldapp.domain.errors import RuleViolation
from fieldapp.domain.exports import (
    ExportFormat,
    ExportRequest,
    ReportKind,
    ScopeKind,
    spreadsheet_safe,
)
from fieldapp.domain.people import CaseId

TERMS = Terms(recipient=Recipient(name="Sangamon County court", kind=RecipientKind.COURT),
              purpose="permanency hearing")
FIRST, LAST = date(2026, 10, 1), date(2026, 10, 31)  # October


def test_an_export_is_a_pdf_unless_a_spreadsheet_is_chosen() -> None:
    request = ExportRequest(kind=ReportKind.VISIT_LOG, scope=ScopeKind.TEAM, terms=TERMS,
                            first_day=FIRST, last_day=LAST)
    assert request.fmt is ExportFormat.PDF
    assert request.file_name() == "visit-log-team-2026-10.pdf"


def test_a_worker_export_without_a_worker_chosen_is_refused() -> None:
    with pytest.raises(RuleViolation) as refused:
        ExportRequest(kind=ReportKind.MILEAGE, scope=ScopeKind.WORKER, terms=TERMS,
                      first_day=FIRST, last_day=LAST)
    assert refused.value.message == "Choose the worker."


def test_an_accounting_that_names_no_person_is_everyones() -> None:
    request = ExportRequest(kind=ReportKind.ACCOUNTING, scope=ScopeKind.CASES,
                            case_ids=(CaseId("case-1"),), terms=TERMS,
                            first_day=FIRST, last_day=LAST)
    assert request.person == ""


@pytest.mark.parametrize(("kind", "information"), [
    (ReportKind.VISIT_LOG, Information.VISIT_NOTES),
    (ReportKind.SCREENS, Information.DRUG_SCREENS),
    (ReportKind.MILEAGE, Information.ATTENDANCE),
    (ReportKind.ACCOUNTING, Information.ATTENDANCE),
])
def test_each_report_discloses_the_information_a_consent_must_cover(
        kind: ReportKind, information: Information) -> None:
    assert kind.information is information


@pytest.mark.parametrize("text", ["Xavier was at home", "XX", "x-ray appointment"])
def test_text_starting_with_an_ordinary_letter_is_left_as_typed(text: str) -> None:
    assert spreadsheet_safe(text) == text
