"""Run FieldApp with `python -m fieldapp`."""

from fieldapp.app import main

raise SystemExit(main())
