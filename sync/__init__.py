"""The sync protocol, the client's sync engine and the central server."""
