"""The PySide6 desktop client: widgets and Qt models over the services. Only here is Qt."""
