"""`fieldapp-server`: the central server's command line.

The server itself (HTTP API, admin commands) is built in issue 5; until then this entry point
exists so packaging and installation can be checked, and it says plainly what it cannot do yet.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence

from fieldapp import __version__


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="fieldapp-server",
                                     description="FieldApp central server.")
    parser.add_argument("--version", action="version", version=f"fieldapp-server {__version__}")
    parser.parse_args(argv)
    print("fieldapp-server has no commands in this version yet; the server arrives with the "
          "central-server work (issue 5).", file=sys.stderr)
    return 2
