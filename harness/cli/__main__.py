"""`python -m harness.cli`: the `harness` console script without a PATH lookup."""

import sys

from ._main import main

sys.exit(main())
