"""Keys a person can compare: their own key's fingerprint, and their colleagues' as this laptop
pinned them (`sync/client/pins.py`), each with where it stands and "Mark as compared…".

Two people read their fingerprints to each other, in person or by phone; when the digits match,
the keys their laptops hold for each other are the real ones, whatever the server said. A key
that changed is decided under Needs attention (`ui/conflict_dialog.py`), not here.

Thread rule: widgets on the UI thread; `read_keys` runs on the database worker (`ops`).
"""

from __future__ import annotations

from dataclasses import dataclass

from PySide6.QtCore import QItemSelection
from PySide6.QtGui import QFontDatabase
from PySide6.QtWidgets import QGroupBox, QHBoxLayout, QLabel, QPushButton, QVBoxLayout

from fieldapp.crypto.signing import fingerprint
from fieldapp.domain.errors import KnownError
from fieldapp.domain.people import UserId
from fieldapp.services import enrolment
from fieldapp.services.directory import directory, team_members
from fieldapp.services.session import Session
from fieldapp.ui.context import UiContext
from fieldapp.ui.models import Column, RowsModel
from fieldapp.ui.ops import on_profile
from fieldapp.ui.tables import table
from fieldapp.ui.trip_dialog import ConfirmDialog, plain_name
from fieldapp.ui.widgets import message_label, paragraph, set_error
from sync.client.attention import local_day, mark_compared
from sync.client.engine import replica_of
from sync.client.pins import Pins
from sync.client.rekey import ELSEWHERE_STATE

NOT_ENROLLED = ("This profile is not connected to your program's server yet, so it has no key "
                "to compare. Connect it above; your fingerprint appears here.")
OWN_PURPOSE = ("Read these 30 digits with a colleague, in person or by phone: their FieldApp "
               "shows yours beside your name (Settings → Your team's keys). If they match, "
               "your laptops hold each other's real keys; if not, tell your administrator.")
TEAM_PURPOSE = ("The keys this laptop holds for your colleagues. Records are shared only with "
                "these keys and checked against them. Compare each fingerprint with its owner "
                "once, in person or by phone, then mark it as compared.")
KEY_CHANGED = "Key changed — needs your decision"
OUT_OF_DATE = ("The key on this laptop is out of date: your keys were replaced on another of "
               "your laptops. Take up the new keys with the recovery code shown there; then "
               "your fingerprint appears here.")


@dataclass(frozen=True)
class TeamKey:
    """One colleague's key as this laptop holds it.

    Attributes:
        fingerprint: the pinned key's ('' when this laptop has seen no key for them yet).
        state: where it stands, in words.
        changed: the server offers another key for them (decided under Needs attention).
    """

    user_id: str
    name: str
    role: str
    fingerprint: str
    state: str
    changed: bool


@dataclass(frozen=True)
class KeysFacts:
    """`own`: the profile's own fingerprint ('' when it has none); `own_note`: why not;
    `enrolled`: the profile is connected to the program's server."""

    own: str
    own_note: str
    team: list[TeamKey]
    enrolled: bool = False
    waiting: bool = False  # this laptop's keys were replaced on another: take up the new ones


def read_keys(session: Session) -> KeysFacts:
    """The profile's own fingerprint and its colleagues' keys (the database worker)."""
    ws = session.workspace()
    me, own, note = "", "", NOT_ENROLLED
    found = enrolment.enrolment_of(session)
    if found is not None:
        me = str(found["user"]["id"])
        try:
            identity = enrolment.identity_of(session)
        except KnownError as exc:
            identity, note = None, exc.message
        if identity is not None:
            own, note = fingerprint(me, identity.public_key, identity.signing_key), ""
    pins = {p.user_id: p for p in Pins(ws.db, now="").all()}
    roles = {str(m.user_id): str(m.role) for m in team_members(ws)}
    names, zone = directory(ws).names, ws.settings.zone
    team = []
    for user_id in sorted((set(roles) | set(pins)) - {me}):
        pin = pins.get(user_id)
        if pin is None:
            state = "No key yet: they have not connected FieldApp to the server"
        elif pin.changed:
            state = f"{KEY_CHANGED}; the new key's fingerprint: {pin.offered_fingerprint}"
        elif pin.verified_at:
            state = f"Compared with you on {local_day(pin.verified_at, zone)}"
        else:
            state = f"Not compared yet (first seen {local_day(pin.pinned_at, zone)})"
        team.append(TeamKey(user_id=user_id, name=names.get(UserId(user_id)) or user_id,
                            role=roles.get(user_id, "").capitalize(),
                            fingerprint=pin.fingerprint if pin else "", state=state,
                            changed=pin is not None and pin.changed))
    team.sort(key=lambda k: (k.name.casefold(), k.user_id))
    waiting = found is not None and replica_of(session, enrolled=found).state(
        ELSEWHERE_STATE) == "1"
    if waiting:
        own, note = "", OUT_OF_DATE
    return KeysFacts(own=own, own_note=note, team=team, enrolled=found is not None,
                     waiting=waiting)


def fingerprint_label(name: str) -> QLabel:
    """Digits in a fixed-width font, selectable, so groups line up when read aloud."""
    label = paragraph("", name=name)
    font = QFontDatabase.systemFont(QFontDatabase.SystemFont.FixedFont)
    font.setPointSizeF(label.font().pointSizeF() * 1.3)
    label.setFont(font)
    return label


class OwnKeyBox(QGroupBox):
    """"Your key fingerprint": the digits and what they are for; "Take up new keys…" (for an
    enrolled profile) after the person's keys were replaced on another of their laptops."""

    def __init__(self) -> None:
        super().__init__("Your key fingerprint")
        self.digits = fingerprint_label("Your key fingerprint")
        self.purpose = paragraph(OWN_PURPOSE, name="What your fingerprint is for")
        self.note = paragraph("", name="Why no fingerprint is shown")
        self.take_up_button = QPushButton("Take &up new keys…")
        self.take_up_button.setAccessibleName(plain_name(self.take_up_button.text()))
        self.take_up_button.setToolTip("Once your keys were replaced on another of your "
                                       "laptops (this laptop's sync says so): enter the new "
                                       "recovery code shown there")
        self.take_up_button.setAutoDefault(False)
        self.take_up_button.setEnabled(False)
        self.message = message_label("Your key: result")
        box = QVBoxLayout(self)
        box.addWidget(self.digits)
        box.addWidget(self.note)
        box.addWidget(self.purpose)
        row = QHBoxLayout()
        row.addWidget(self.take_up_button)
        row.addWidget(self.message, 1)
        box.addLayout(row)

    def show_facts(self, facts: KeysFacts) -> None:
        self.digits.setText(facts.own)
        self.digits.setVisible(bool(facts.own))
        self.note.setText(facts.own_note)
        self.note.setVisible(not facts.own)
        self.purpose.setVisible(bool(facts.own))
        self.take_up_button.setEnabled(facts.waiting)


class TeamKeysBox(QGroupBox):
    """"Your team's keys": each colleague, their fingerprint, where it stands.

    Attributes:
        model: the colleagues (`TeamKey`), by name.
        confirm_dialog: the question open now, if any.
    """

    def __init__(self, ctx: UiContext) -> None:
        super().__init__("Your team's keys")
        self._ctx = ctx
        self.confirm_dialog: ConfirmDialog | None = None
        self.model: RowsModel[TeamKey] = RowsModel([
            Column("Name", lambda k: k.name), Column("Role", lambda k: k.role),
            Column("Fingerprint", lambda k: k.fingerprint or "—"),
            Column("Key", lambda k: k.state)])
        self.keys = table("Your team's keys", self.model, fit_columns=True)
        self.empty = paragraph("", name="Your team's keys: none yet")
        self.compare_button = QPushButton("Mar&k as compared…")
        self.compare_button.setAccessibleName(plain_name(self.compare_button.text()))
        self.compare_button.setToolTip("After reading the fingerprint with its owner")
        self.compare_button.setAutoDefault(False)
        self.hint = paragraph("", name="About the selected key")
        self.message = message_label("Team keys: result")
        box = QVBoxLayout(self)
        box.addWidget(paragraph(TEAM_PURPOSE, name="About your team's keys"))
        box.addWidget(self.keys)
        box.addWidget(self.empty)
        box.addWidget(self.hint)
        row = QHBoxLayout()
        row.addWidget(self.compare_button)
        row.addWidget(self.message, 1)
        box.addLayout(row)
        self.keys.selectionModel().selectionChanged.connect(self._selected)
        self.compare_button.clicked.connect(self.ask_to_mark)
        self._selected()

    def show_facts(self, facts: KeysFacts) -> None:
        chosen = self.current()
        self.model.set_rows(facts.team)
        ids = [k.user_id for k in facts.team]
        if chosen is not None and chosen.user_id in ids:
            self.keys.selectRow(ids.index(chosen.user_id))
        self.keys.setVisible(bool(facts.team))
        self.empty.setVisible(not facts.team)
        self.empty.setText("" if facts.team else
                           "Your colleagues are listed after the first sync with the server.")
        self._selected()

    def current(self) -> TeamKey | None:
        rows = self.keys.selectionModel().selectedRows()
        return self.model.row_at(rows[0].row()) if rows else None

    def _selected(self, *_: QItemSelection) -> None:
        key = self.current()
        self.compare_button.setEnabled(key is not None and bool(key.fingerprint)
                                       and not key.changed)
        self.hint.setText(f"{key.name}'s key changed: decide under Needs attention, at the "
                          "bottom of the window, after comparing the new fingerprint with "
                          f"{key.name}." if key is not None and key.changed else "")
        self.hint.setVisible(bool(self.hint.text()))

    def ask_to_mark(self) -> None:
        key = self.current()
        if key is None or not key.fingerprint or key.changed:
            return
        self.confirm_dialog = ConfirmDialog.ask(
            f"Mark {key.name}'s key as compared?",
            f"Only if you read these 30 digits with {key.name} in person or by phone and they "
            f"match:\n\n{key.fingerprint}\n\n{key.name} finds theirs in FieldApp under Settings → "
            "Your key fingerprint. If they do not match, do not mark it: tell your "
            "administrator.", "&Mark as compared", self, lambda: self._mark(key))

    def _mark(self, key: TeamKey) -> None:
        self.compare_button.setEnabled(False)
        set_error(self.message, "")
        on_profile(self._ctx.runner, self._ctx.session,
                   lambda s: mark_compared(s, user_id=key.user_id, fingerprint=key.fingerprint),
                   owner=self, changes=True) \
            .done(lambda _: self._marked(key)) \
            .shown_in(self.message, after_failure=self._selected).run()

    def _marked(self, key: TeamKey) -> None:
        self.message.setText(f"{key.name}'s key is marked as compared.")
        self.refresh()

    def refresh(self) -> None:
        on_profile(self._ctx.runner, self._ctx.session, read_keys, owner=self) \
            .done(self.show_facts).shown_in(self.message).run()
