"""Every keyboard shortcut, declared once: its keys, what it does, where it works and for whom.

The windows install their keys from here (`bind`, `give`, `keys_of`), Help → Keyboard shortcuts
lists them (`keyboard_help`), and `scripts/shortcuts_doc.py` writes README's Keyboard section
from them. Tests press them, and fail when a key is written anywhere else in the UI or the README
says something this module does not. Mnemonics (the underlined letter of a label or button,
Alt+letter) stay with their controls: they are part of the text, not a second list of keys.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass

from PySide6.QtCore import Qt
from PySide6.QtGui import QAction, QKeySequence, QShortcut
from PySide6.QtWidgets import QAbstractButton, QWidget

from fieldapp.domain.people import Role

EVERYONE = frozenset({Role.RECOVERY_COORDINATOR, Role.INTACT_WORKER, Role.SUPERVISOR})
SUPERVISORS = frozenset({Role.SUPERVISOR})
# How a role reads in a sentence ("for a coordinator or an intact worker").
ROLE_WORDS = {Role.RECOVERY_COORDINATOR: "coordinator", Role.INTACT_WORKER: "intact worker",
              Role.SUPERVISOR: "supervisor"}


@dataclass(frozen=True)
class Place:
    """Where a shortcut works, in words, and the window it belongs to: two shortcuts of one
    window (its tabs included) must not share keys, or Qt would run neither."""

    where: str
    window: str


ANYWHERE = Place("Anywhere in FieldApp", "main window")
MAIN_WINDOW = Place("In the main window, locked or not", "main window")
OPEN_PROFILE = Place("On every tab of the open profile", "main window")
MILEAGE_TAB = Place("On the Mileage tab", "main window")
FAMILY_WINDOW = Place("In a family's window", "family window")
NOTE_WINDOW = Place("In a visit note", "visit note")
FAMILY_FORM = Place("In the family form (New family, Edit family)", "family form")
SCREEN_PANEL = Place("In a drug screen's list of substances", "drug screen")


@dataclass(frozen=True, kw_only=True)
class Shortcut:
    """One shortcut.

    Attributes:
        keys: as people read them and `QKeySequence` parses them ("Ctrl+Shift+S").
        does: what happens, in plain words, starting with a verb.
        place: where it works.
        roles: who has it.
        context: how far Qt looks for it from the widget it is installed on.
        own_handler: the window reads these keys in its own key handler (the reason is given
            there) rather than through a `QShortcut`; declared so they are documented.
    """

    keys: str
    does: str
    place: Place
    roles: frozenset[Role] = EVERYONE
    context: Qt.ShortcutContext = Qt.ShortcutContext.WindowShortcut
    own_handler: bool = False


# Help works from any FieldApp window, a visit note or a family's window included.
HELP = Shortcut(keys="F1", does="Show the keyboard shortcuts (Help → Keyboard shortcuts)",
                place=ANYWHERE, context=Qt.ShortcutContext.ApplicationShortcut)
QUIT = Shortcut(keys="Ctrl+Q", does="Quit FieldApp (notes being written are saved first)",
                place=MAIN_WINDOW)
SYNC = Shortcut(keys="F5", does="Sync with the program's server now", place=OPEN_PROFILE)
LOCK = Shortcut(keys="Ctrl+L", does="Lock FieldApp (notes being written are saved first)",
                place=OPEN_PROFILE)
NEW_NOTE = Shortcut(keys="Ctrl+N", does="Write a visit note for the family selected on Today "
                    "or in the caseload", place=OPEN_PROFILE)
EXPORT = Shortcut(keys="Ctrl+E", does="Export a report (on the Mileage tab, the mileage log)",
                  place=OPEN_PROFILE)
# The whole window while the Mileage tab shows (a hidden tab's keys do nothing): a newcomer
# who had just clicked the tab, the focus on the tab bar, found Ctrl+T dead.
ADD_TRIP = Shortcut(keys="Ctrl+T", does="Add a trip", place=MILEAGE_TAB,
                    context=Qt.ShortcutContext.WindowShortcut)
REMOVE_TRIP = Shortcut(keys="Delete", does="Remove the trip selected in the list of trips",
                       place=MILEAGE_TAB, context=Qt.ShortcutContext.WidgetShortcut)
FAMILY_NEW_NOTE = Shortcut(keys="Ctrl+N", does="Write a visit note for this family",
                           place=FAMILY_WINDOW)
CONSENTS = Shortcut(keys="Ctrl+Shift+C", does="Open the family's consents and disclosures",
                    place=FAMILY_WINDOW)
SAVE_NOTE = Shortcut(keys="Ctrl+S", does="Save the note now", place=NOTE_WINDOW)
SIGN_NOTE = Shortcut(keys="Ctrl+Shift+S", does="Sign the note", place=NOTE_WINDOW)
SAVE_FAMILY = Shortcut(keys="Ctrl+Enter", does="Save the family (Enter alone moves to the "
                       "next field)", place=FAMILY_FORM, own_handler=True)
CHOOSE_RESULT = Shortcut(keys="F2", does="Choose the result from a list (typing N, P or I "
                        "sets it directly)", place=SCREEN_PANEL, own_handler=True)

SHORTCUTS = (HELP, QUIT, SYNC, LOCK, NEW_NOTE, EXPORT, ADD_TRIP, REMOVE_TRIP, FAMILY_NEW_NOTE,
             CONSENTS, SAVE_NOTE, SIGN_NOTE, SAVE_FAMILY, CHOOSE_RESULT)


@dataclass(frozen=True)
class Section:
    """A tab of the open profile, in tab order; Ctrl+1, Ctrl+2, … show them in that order.

    Attributes:
        page: the `WorkspaceView` attribute that holds the tab's page.
        title: the tab's text, with its mnemonic.
    """

    page: str
    title: str
    roles: frozenset[Role] = EVERYONE

    @property
    def name(self) -> str:
        return self.title.replace("&", "")


SECTIONS = (Section("today", "&Today"), Section("caseload", "&Caseload"),
            Section("mileage", "&Mileage"), Section("supervisor", "Su&pervisor", SUPERVISORS),
            Section("settings", "Setti&ngs"))


def sections_for(role: Role) -> list[Section]:
    """The tabs `role` sees, in order."""
    return [section for section in SECTIONS if role in section.roles]


def tab_shortcuts(role: Role) -> list[Shortcut]:
    """Ctrl+1 … Ctrl+n: one per tab `role` sees (so Ctrl+4 differs between roles)."""
    return [Shortcut(keys=f"Ctrl+{number}", does=f"Show the {section.name} tab",
                     place=OPEN_PROFILE, roles=frozenset({role}))
            for number, section in enumerate(sections_for(role), start=1)]


def shortcuts_for(role: Role | None) -> list[Shortcut]:
    """The shortcuts `role` has, the tabs' first; with no role (no profile open) those that
    every role has, tabs aside."""
    tabs = tab_shortcuts(role) if role is not None else []
    return tabs + [shortcut for shortcut in SHORTCUTS
                   if (role in shortcut.roles if role is not None else shortcut.roles == EVERYONE)]


def every_shortcut() -> list[Shortcut]:
    """Every declared shortcut of every role, the per-role tab keys included."""
    return [shortcut for role in Role if role in EVERYONE
            for shortcut in tab_shortcuts(role)] + list(SHORTCUTS)


def roles_in_words(roles: Iterable[Role]) -> str:
    """Roles as a sentence says them: "a coordinator or an intact worker"."""
    words = [ROLE_WORDS[role] for role in Role if role in set(roles)]
    return " or ".join(f"{'an' if word[0] in 'aeiou' else 'a'} {word}" for word in words)


def where(shortcut: Shortcut) -> str:
    """Where it works, and for whom when not for everyone."""
    if shortcut.roles == EVERYONE:
        return shortcut.place.where
    return f"{shortcut.place.where}, for {roles_in_words(shortcut.roles)}"


# Installing ------------------------------------------------------------------------------------

def keys_of(shortcut: Shortcut) -> QKeySequence:
    return QKeySequence(shortcut.keys)


def bind(shortcut: Shortcut, widget: QWidget, slot: Callable[[], object]) -> QShortcut:
    """Install `shortcut` on `widget` (its window, or itself, by the declared context): pressing
    the keys calls `slot`."""
    installed = QShortcut(keys_of(shortcut), widget)
    installed.setContext(shortcut.context)
    installed.activated.connect(slot)
    return installed


def give(shortcut: Shortcut, target: QAction | QAbstractButton) -> None:
    """Put `shortcut` on a menu action (the menu shows the keys) or a button (the keys click
    it)."""
    target.setShortcut(keys_of(shortcut))
    if isinstance(target, QAction):
        target.setShortcutContext(shortcut.context)
