"""Use cases the UI and the command line call: no Qt, and never run on the UI thread."""
