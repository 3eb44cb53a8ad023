"""`python -m gancio_like` is `fync`."""
from .cli import main

raise SystemExit(main())
