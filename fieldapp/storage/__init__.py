"""The profile on disk: paths, the SQLite database, the vault, backups."""
