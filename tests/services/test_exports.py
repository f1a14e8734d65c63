"""The visit log, read back from its files: PDF (text extracted with pypdf) and CSV (parsed
as a spreadsheet would); and what an export says about records it could not read.

The program is hand-built (`export_helpers`): sup-1's team of two cases and three workers, and
sup-2's two cases, whose records must never reach sup-1's exports.
"""

from __future__ import annotations

from datetime import date
from pathlib import Path
from typing import Any

from PySide6.QtWidgets import QApplication

from fieldapp.domain.exports import ExportFormat, ReportKind, ScopeKind
from fieldapp.domain.people import Actor
from fieldapp.services.exports.tables import VISIT_COLUMNS
from fieldapp.storage.resources import part2_notice
from tests.services.export_helpers import (
    AWKWARD,
    FORMULA,
    MARKUP,
    NEVER_IN_SUP1_OCTOBER,
    TEAM_SCOPE,
    Team,
    add_screens,
    add_visits,
    ask,
    assert_csv_head,
    assert_pdf_frame,
    pdf_pages,
    positions,
    read_csv,
    run_export,
    squash,
)
from tests.services.records_helpers import INTACT_WORKER, OTHER_WORKER, SUPERVISOR, WORKER

PDF, CSV = ExportFormat.PDF, ExportFormat.CSV
VISITS, SCREENS = ReportKind.VISIT_LOG, ReportKind.SCREENS


# --- the visit log -----------------------------------------------------------------------------


TITLES = ("Thu 1 Oct 2026 · Alder · face to face · co-signed",
          "Wed 7 Oct 2026 · Brennan · face to face · signed, awaiting co-signature",
          "Mon 12 Oct 2026 · Alder · face to face · signed, awaiting co-signature · LATE ENTRY",
          "Tue 20 Oct 2026 · Alder · face to face · draft, not signed",
          "Sat 31 Oct 2026 · Brennan · face to face · co-signed")
RETURNED = "Returned by Pat Morgan on 15 Oct 2026, 17:00: Please list who else was home."
WORKER_ADDENDUM = ("Addendum by Sam Rivera on 15 Oct 2026, 18:00. Reason: asked by "
                   "supervisor. Grandmother Inés was also present.")
SUPERVISOR_ADDENDUM = ("Addendum by Pat Morgan on 15 Oct 2026, 19:00. Reason: supervisor "
                       "review. Discussed with the worker.")


def test_visit_log_pdf_for_a_supervisor(team: Team, tmp_path: Path,
                                        qapp: QApplication) -> None:
    add_visits(team)
    pages = pdf_pages(run_export(team.ws(), ask(VISITS, PDF), tmp_path))
    assert_pdf_frame(pages, "Visit log", TEAM_SCOPE, "1 Oct 2026 to 31 Oct 2026")
    text = " ".join(pages)

    # Every visit once, in date order; nothing from outside the team or the month.
    assert positions(text, *TITLES) == sorted(positions(text, *TITLES))
    assert "5 visit(s) 2 co-signed, 1 draft, not signed, 2 signed, awaiting co-signature; " \
           "1 late entry." in text
    for word in NEVER_IN_SUP1_OCTOBER:
        assert word not in text
    # The narratives, as typed (the emoji has no glyph in the PDF's font: checked in the CSV).
    positions(text, squash(AWKWARD.split("\n")[0]), "Second line: José's niño, café résumé",
              MARKUP, FORMULA, "Last day of the month visit.",
              "Present mother, Noor <9> & aunt")
    # Signatures and reviews under their note; the late note's return and addenda in place,
    # after its narrative and before the next visit.
    assert text.count("Signed by ") == 4 and text.count("LATE ENTRY") == 1
    assert positions(text, TITLES[0], "Signed by Sam Rivera on 1 Oct 2026, 18:00",
                     "Co-signed by Pat Morgan on 2 Oct 2026, 14:00", TITLES[1]) \
        == sorted(positions(text, TITLES[0], "Signed by Sam Rivera on 1 Oct 2026, 18:00",
                            "Co-signed by Pat Morgan on 2 Oct 2026, 14:00", TITLES[1]))
    in_place = positions(text, TITLES[2], "Late visit narrative: the family moved rooms.",
                         "Signed by Sam Rivera on 15 Oct 2026, 16:00", RETURNED,
                         WORKER_ADDENDUM, SUPERVISOR_ADDENDUM, TITLES[3])
    assert in_place == sorted(in_place)
    draft = text[text.index(TITLES[3]):text.index(TITLES[4])]
    assert "Worker Ana Núñez" in draft and "Signed by" not in draft


def test_visit_log_csv_for_a_supervisor(team: Team, tmp_path: Path) -> None:
    v = add_visits(team)
    raw = run_export(team.ws(), ask(VISITS, CSV), tmp_path)
    report = read_csv(raw)
    assert_csv_head(report, raw, "Visit log", TEAM_SCOPE, "2026-10-01 to 2026-10-31")
    assert report.columns == list(VISIT_COLUMNS)

    in_order = [v.first, v.brennan, v.late, v.draft, v.last_day]
    assert report.column("Note id") == [n.id for n in in_order]
    assert report.column("Visit date (YYYY-MM-DD)") == ["2026-10-01", "2026-10-07",
                                                         "2026-10-12", "2026-10-20", "2026-10-31"]
    assert report.column("Family") == ["Alder", "Brennan", "Alder", "Alder", "Brennan"]
    text = raw.decode("utf-8-sig")
    for word in NEVER_IN_SUP1_OCTOBER:
        assert word not in text
    for note in v.outside:
        assert note.id not in text

    first, brennan, late, draft, last = report.rows
    assert first["Narrative"] == AWKWARD   # commas, quotes, a newline, é, ñ, an emoji
    assert draft["Narrative"] == "'" + FORMULA
    assert (brennan["Place"], brennan["Narrative"], brennan["People present"]) == \
        ("office", MARKUP, "mother; Noor <9> & aunt")
    assert (first["Time in (HH:MM)"], first["Time out (HH:MM)"], first["People present"],
            first["Services"]) \
        == ("14:00", "15:30", "mother; son", "recovery coaching; safety check")

    def status(row: dict[str, str]) -> tuple[str, ...]:
        return tuple(row[c] for c in ("Worker", "Worker name", "Status", "Signed by",
                                      "Signed by name", "Signed at (YYYY-MM-DD HH:MM)",
                                      "Late entry", "Co-signed by", "Co-signed by name",
                                      "Co-signed at (YYYY-MM-DD HH:MM)"))

    # Machines match on the ids; the names sit beside them.
    assert status(first) == ("rc-1", "Sam Rivera", "co-signed", "rc-1", "Sam Rivera",
                             "2026-10-01 18:00", "no", "sup-1", "Pat Morgan", "2026-10-02 14:00")
    assert status(brennan) == ("rc-2", "Lee Okafor", "signed, awaiting co-signature", "rc-2",
                               "Lee Okafor", "2026-10-07 18:00", "no", "", "", "")
    assert status(late) == ("rc-1", "Sam Rivera", "signed, awaiting co-signature", "rc-1",
                            "Sam Rivera", "2026-10-15 16:00", "yes", "", "", "")
    assert status(draft) == ("iw-1", "Ana Núñez", "draft, not signed", "", "", "", "no", "",
                             "", "")
    assert status(last)[2:] == ("co-signed", "rc-2", "Lee Okafor", "2026-10-31 18:00", "no",
                                "sup-1", "Pat Morgan", "2026-10-31 20:00")
    # The addenda and the return in the note's own row, oldest first; nowhere else.
    # The CSV's dates are ISO, in its sentences too.
    assert late["Returns"] == RETURNED.replace("15 Oct 2026,", "2026-10-15")
    assert late["Addenda"] == (WORKER_ADDENDUM + "\n\n" + SUPERVISOR_ADDENDUM).replace(
        "15 Oct 2026,", "2026-10-15")
    assert all(not r["Addenda"] and not r["Returns"] for r in (first, brennan, draft, last))


def test_visit_log_scopes(team: Team, tmp_path: Path) -> None:
    v = add_visits(team)
    castillo = v.outside[1]
    cases: dict[str, tuple[Actor, ScopeKind, dict[str, Any], str, list[str]]] = {
        "a supervisor's worker": (SUPERVISOR, ScopeKind.WORKER, {"worker": WORKER},
                                  "Worker: Sam Rivera", [v.first.id, v.late.id]),
        "a supervisor's case": (SUPERVISOR, ScopeKind.CASES, {"cases": (team.brennan,)},
                                "Case(s): Brennan", [v.brennan.id, v.last_day.id]),
        "a worker's own work, on both teams": (
            WORKER, ScopeKind.WORKER, {"worker": WORKER}, "Worker: Sam Rivera",
            [v.first.id, castillo.id, v.late.id]),
        "an intact worker's own work": (INTACT_WORKER, ScopeKind.WORKER,
                                        {"worker": INTACT_WORKER}, "Worker: Ana Núñez",
                                        [v.draft.id]),
        "a worker's own case": (OTHER_WORKER, ScopeKind.CASES, {"cases": (team.brennan,)},
                                "Case(s): Brennan", [v.brennan.id, v.last_day.id]),
    }
    for name, (actor, scope, fields, words, ids) in cases.items():
        folder = tmp_path / name
        folder.mkdir()
        report = read_csv(run_export(team.ws(actor), ask(VISITS, CSV, scope, **fields),
                                     folder))
        assert report.head["Scope"] == words, name
        assert report.column("Note id") == ids, name


# --- damaged records ----------------------------------------------------------------------------


def test_a_damaged_note_is_left_out_and_counted(team: Team, tmp_path: Path,
                                               qapp: QApplication) -> None:
    v = add_visits(team)
    db, _ = team.vault.open_parts()
    blob = bytearray(db.execute("SELECT sealed FROM visit_notes WHERE id = ?",
                                [v.draft.id]).fetchone()[0])
    blob[-1] ^= 0x01
    with db.atomic():
        db.execute("UPDATE visit_notes SET sealed = ? WHERE id = ?", [bytes(blob), v.draft.id])
    left_out = ("1 record(s) in this scope are damaged on this laptop and could not be read; "
                "run FieldApp's doctor and sync again.")

    report = read_csv(run_export(team.ws(), ask(VISITS, CSV), tmp_path))
    assert report.head["Left out"] == left_out
    assert report.column("Note id") == [v.first.id, v.brennan.id, v.late.id, v.last_day.id]

    text = " ".join(pdf_pages(run_export(team.ws(), ask(VISITS, PDF), tmp_path)))
    assert f"Left out {left_out}" in text
    assert "4 visit(s)" in text and FORMULA not in text and TITLES[3] not in text


def test_a_damaged_note_of_another_worker_is_not_counted_for_a_worker(
        team: Team, tmp_path: Path) -> None:
    v = add_visits(team)
    db, _ = team.vault.open_parts()
    with db.atomic():   # iw-1's draft; sup-1 exports rc-1's work, which it is not part of
        db.execute("UPDATE visit_notes SET sealed = zeroblob(64) WHERE id = ?", [v.draft.id])
    report = read_csv(run_export(team.ws(), ask(VISITS, CSV, ScopeKind.WORKER, worker=WORKER),
                                 tmp_path))
    assert report.column("Note id") == [v.first.id, v.late.id]
    assert "Left out" not in report.head


def test_a_damaged_screen_outside_the_period_is_not_counted(team: Team, tmp_path: Path) -> None:
    add_screens(team)
    db, _ = team.vault.open_parts()
    september = db.execute(
        "SELECT r.id FROM drug_screen_revisions r JOIN drug_screens s ON s.id = r.screen_id "
        "WHERE s.collected_at LIKE '2026-10-01T04:%'").fetchone()[0]
    with db.atomic():   # damage below SQL's rules, as a bad disk would
        db.execute("DROP TRIGGER drug_screen_revisions_no_update")
        db.execute("UPDATE drug_screen_revisions SET sealed = zeroblob(64) WHERE id = ?",
                   [september])
    october = read_csv(run_export(team.ws(), ask(SCREENS, CSV), tmp_path))
    assert len(october.rows) == 8
    assert "Left out" not in october.head
    around = read_csv(run_export(team.ws(), ask(SCREENS, CSV, first=date(2026, 9, 30)),
                                 tmp_path))
    assert len(around.rows) == 8
    assert around.head["Left out"].startswith("1 record(s) in this scope are damaged")


def test_an_undamaged_export_has_no_left_out_line(team: Team, tmp_path: Path) -> None:
    add_visits(team)
    assert "Left out" not in read_csv(run_export(team.ws(), ask(VISITS, CSV), tmp_path)).head


def test_an_empty_period_still_carries_the_notice(team: Team, tmp_path: Path,
                                                 qapp: QApplication) -> None:
    add_visits(team)
    january: dict[str, Any] = {"first": date(2026, 1, 1), "last": date(2026, 1, 31)}
    report = read_csv(run_export(team.ws(), ask(VISITS, CSV, **january), tmp_path))
    assert report.notice[1] == part2_notice().text
    assert report.columns == list(VISIT_COLUMNS) and report.rows == []
    (page,) = pdf_pages(run_export(team.ws(), ask(VISITS, PDF, **january), tmp_path))
    assert "No visits in this scope and period." in page
    assert all(squash(p) in page for p in part2_notice().paragraphs)
    assert "Page 1 of 1" in page
