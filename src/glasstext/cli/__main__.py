"""``python -m glasstext.cli``: the same as the ``glasstext`` command."""

from glasstext.cli import main

raise SystemExit(main())
