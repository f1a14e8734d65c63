"""The laptop's sync engine: outbox, push, pull, conflicts, verification."""
