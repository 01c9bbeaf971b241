"""`python -m convwise` runs the command line."""

import sys

from convwise.cli.main import main

sys.exit(main())
