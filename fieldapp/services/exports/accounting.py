"""The accounting of disclosures as a report: every disclosure of a family's records, per person.

A person in recovery may ask for the list of disclosures made of their records (42 CFR 2.24);
a supervisor prints or exports it like any other report, and the export is itself accounted.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date, tzinfo

from fieldapp.domain.disclosure import Disclosure
from fieldapp.domain.exports import ExportScope
from fieldapp.domain.formats import iso_moment_text
from fieldapp.services.consents import AccountingService
from fieldapp.services.exports.staff import StaffNames
from fieldapp.services.workspace import Workspace

ACCOUNTING_COLUMNS = (
    "Disclosed (YYYY-MM-DD HH:MM zone)", "Family", "Case id", "People", "Recipient",
    "Recipient kind", "Purpose", "Information", "What was disclosed", "Basis", "Disclosed by",
    "Disclosed by name", "File SHA-256", "Disclosure id",
)


@dataclass(frozen=True, kw_only=True)
class AccountingRow:
    disclosure: Disclosure
    family: str


def accounting_rows(workspace: Workspace, scope: ExportScope, *, person: str, first_day: date,
                    last_day: date) -> tuple[AccountingRow, ...]:
    """Every disclosure of the scope's families (one person's, if `person`) made in the period
    (the program's local dates), oldest first.

    Thread rule: the database worker."""
    service, zone = AccountingService(workspace), workspace.settings.zone
    rows = [AccountingRow(disclosure=d, family=case.family_name)
            for case in scope.cases
            for d in service.for_case(case.id, person=person or None)
            if first_day <= d.at.astimezone(zone).date() <= last_day]
    return tuple(sorted(rows, key=lambda r: (r.disclosure.at, r.family, r.disclosure.id)))


def accounting_values(row: AccountingRow, people: StaffNames, zone: tzinfo) -> list[str]:
    d = row.disclosure
    return [
        iso_moment_text(d.at.astimezone(zone)), row.family, d.case_id, "; ".join(d.people),
        d.recipient.name, str(d.recipient.kind), d.purpose, str(d.information), d.what,
        d.basis.describe(), d.by, people.plain(d.by), d.sha256, d.id,
    ]


def accounting_table(rows: tuple[AccountingRow, ...], people: StaffNames, zone: tzinfo
                     ) -> Iterator[list[str]]:
    for row in rows:
        yield accounting_values(row, people, zone)
