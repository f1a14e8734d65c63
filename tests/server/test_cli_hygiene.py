"""The admin command line as a terminal meets it: every value it prints that a person or a laptop
chose is shown with its control characters escaped, and `init` refuses rules the laptops would
refuse, in one plain sentence, before anything is written.

Each test runs the real `fieldapp-server` as a separate process (tests/server/conftest.py).
"""

from __future__ import annotations

import json
import re
import sqlite3
import unicodedata
from pathlib import Path

import pytest

from fieldapp.domain.settings import ProgramSettings
from tests.server.conftest import RunningServer, db_snapshot, prepare_program, run_cli

# What a terminal acts on instead of showing: control characters (C0, DEL, C1), format
# characters such as the bidi overrides, lone surrogates, and the Unicode line separators.
HIDDEN = {"Cc", "Cf", "Cs", "Zl", "Zp"}
TITLE_AND_CLEAR = "\x1b]0;pwned\x07\x1b[2J"
DEVICE_NAME = f"{TITLE_AND_CLEAR}\x1b[31mevil\u202eexe.pdf\x9b"
USER_ID = "rc9"
BAD_ID = "rc\x1b[31mred\u202e"


def hidden(text: str) -> list[str]:
    """The characters of `text` a terminal would act on (line ends between lines excepted)."""
    return [c for c in text if c != "\n" and unicodedata.category(c) in HIDDEN]


def assert_clean(text: str) -> None:
    assert not hidden(text), f"raw control characters reach the terminal: {text!r}"


# --- escaped output -----------------------------------------------------------------------------


def test_device_names_and_ids_from_outside_are_escaped(server: RunningServer) -> None:
    """A laptop names itself with terminal escapes over real HTTP; `code`, `devices` and
    `audit` show them escaped, never raw. A person's id cannot carry any: `user-add` refuses
    one, and says so escaped."""
    refused = server.cli("user-add", BAD_ID, "--name", "Red Herring", "--role",
                         "recovery coordinator", "--team", "t1", check=False)
    assert refused.returncode == 2
    assert_clean(refused.stderr)
    assert "letters, digits" in refused.stderr
    server.cli("user-add", USER_ID, "--name", "Red Herring", "--role", "recovery coordinator",
               "--team", "t1")
    said = server.cli("code", USER_ID).stdout
    assert_clean(said)
    code = re.search(r": (\S+)\s*$", said)
    assert code, said
    enrolled = server.enrol_with(code.group(1), device_name=DEVICE_NAME)
    assert enrolled.status_code == 200, enrolled.text

    devices = server.cli("devices").stdout
    assert_clean(devices)
    assert "\\x1b]0;pwned\\x07\\x1b[2J\\x1b[31mevil\\u202eexe.pdf\\x9b" in devices
    assert_clean(server.cli("devices", "--user", USER_ID).stdout)

    audit = server.cli("audit").stdout
    assert_clean(audit)
    assert re.search(r"rc9 +device enrolled", audit), audit


@pytest.mark.parametrize("args", [
    ("code", "\x1b[2Jnobody"),
    ("revoke", "\x1b]0;pwned\x07dev"),
    ("user-set-supervises", "\u202esup", "none"),
], ids=["code", "revoke", "user-set-supervises"])
def test_refusals_echo_ids_escaped(server: RunningServer, args: tuple[str, ...]) -> None:
    result = server.cli(*args, check=False)
    assert result.returncode == 2
    assert_clean(result.stdout + result.stderr)
    assert repr(args[1])[1:-1] in result.stderr


def test_init_echoes_the_program_name_escaped(tmp_path: Path) -> None:
    result = run_cli(tmp_path / "data", "init", "--name", "River\x1b[2Jbend\u202e")
    assert_clean(result.stdout)
    assert result.stdout == "Program 'River\\x1b[2Jbend\\u202e' is set up.\n"


# --- init refuses rules the laptops would refuse ------------------------------------------------


@pytest.fixture(scope="module")
def program_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A data folder set up as a program's administrator does, shared by the refusals (which
    change nothing)."""
    data_dir = tmp_path_factory.mktemp("program") / "data"
    prepare_program(data_dir)
    return data_dir


BAD_SETTINGS = {
    "negative cap": ('{"mileage_cap": "-5"}', "The mileage cap cannot be negative."),
    "negative rate": ('{"rate_per_mile": "-0.10"}', "The rate per mile cannot be negative."),
    "rate not a number": ('{"rate_per_mile": "cheap"}', "rate_per_mile must be a number"),
    "cap true": ('{"mileage_cap": true}', "mileage_cap must be a number"),
    "unknown key": ('{"mileage_capp": "100"}', "mileage_capp"),
    "version": ('{"version": 1}', "version"),
    "visits as a word": ('{"visits_per_week": "two"}', "visits_per_week must be a whole number"),
    "visits fraction": ('{"visits_per_week": 2.5}', "visits_per_week must be a whole number"),
    "visits too many": ('{"visits_per_week": 15}', "Visits per week must be between 0 and 14."),
    "zone": ('{"timezone": "Mars/Olympus_Mons"}', "Mars/Olympus_Mons is not a known time zone."),
    "panel a string": ('{"panel": "cocaine"}', "panel must be a list of names"),
    "cosupervision": ('{"cosupervision_required": "yes"}', "cosupervision_required"),
    "not JSON": ("{mileage_cap: 5}", "after --settings is not valid JSON"),
    "a list": ('["mileage_cap", 5]', "after --settings must be a JSON object"),
    "a number": ("5", "after --settings must be a JSON object"),
}


@pytest.mark.parametrize("case", BAD_SETTINGS.values(), ids=BAD_SETTINGS.keys())
def test_init_refuses_bad_settings_and_changes_nothing(program_dir: Path,
                                                       case: tuple[str, str]) -> None:
    settings, named = case
    before = db_snapshot(program_dir)
    result = run_cli(program_dir, "init", "--name", "Changed", "--settings", settings,
                     check=False)
    assert result.returncode == 2
    assert result.stdout == ""
    message = result.stderr.strip()
    assert named in message
    assert "\n" not in message and message.endswith("."), message  # one plain sentence
    assert "Traceback" not in message and "usage:" not in message
    assert db_snapshot(program_dir) == before


def test_init_with_good_settings_sets_the_program_up(tmp_path: Path) -> None:
    data_dir = tmp_path / "data"
    settings = {"mileage_cap": "200", "rate_per_mile": "0.67", "visits_per_week": 3,
                "timezone": "America/New_York", "panel": ["cocaine", "opiates"],
                "cosupervision_required": True}
    result = run_cli(data_dir, "init", "--name", "Riverbend", "--settings", json.dumps(settings))
    assert result.stdout == "Program 'Riverbend' is set up.\n"
    assert result.stderr == ""
    conn = sqlite3.connect(data_dir / "server.sqlite3")
    try:
        name, stored = conn.execute("SELECT name, settings FROM program").fetchone()
    finally:
        conn.close()
    assert name == "Riverbend"
    rules = json.loads(stored)
    assert rules.items() >= settings.items()
    laptop = ProgramSettings.from_json({**ProgramSettings().to_json(), **rules})
    assert (laptop.mileage_cap, laptop.visits_per_week, laptop.panel) == (200, 3,
                                                                          ("cocaine", "opiates"))
