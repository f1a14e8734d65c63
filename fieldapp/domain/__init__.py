"""Records and rules in plain Python: no Qt, no SQL, no crypto."""
