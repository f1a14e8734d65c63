"""The central server (`fieldapp-server`)."""
