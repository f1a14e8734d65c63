"""The program settings a profile uses (defaults until a server hands them down)."""

from __future__ import annotations

import json

import sqlite_utils

from fieldapp.domain.settings import ProgramSettings

NAME = "program"


def load_settings(db: sqlite_utils.Database) -> ProgramSettings:
    row = db.execute("SELECT body FROM settings WHERE name = ?", [NAME]).fetchone()
    return ProgramSettings.from_json(json.loads(row[0])) if row else ProgramSettings()


def save_settings(db: sqlite_utils.Database, settings: ProgramSettings, *, now: str) -> None:
    db.table("settings").upsert({"name": NAME, "version": settings.version,
                                 "body": json.dumps(settings.to_json(), sort_keys=True),
                                 "updated_at": now}, pk="name")
