"""`python -m cli ...` is `onething ...`."""
import sys

from cli import main

sys.exit(main())
