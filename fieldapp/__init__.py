"""FieldApp: offline-first field documentation for family-recovery programs."""

__version__ = "0.1.0"
