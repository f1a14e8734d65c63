"""The built app's entry point (build.spec): the same `main` as the `fieldapp` command."""

from fieldapp.app import main

raise SystemExit(main())
