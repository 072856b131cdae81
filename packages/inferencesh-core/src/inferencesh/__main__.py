"""``python -m inferencesh``: the same CLI as the ``inferencesh`` console script."""

from inferencesh.core.cli import main

raise SystemExit(main())
