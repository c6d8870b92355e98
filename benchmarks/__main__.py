"""`python -m benchmarks [--only SECTION ...] [--size-mib N ...]`: every figure from one run; see `suite`."""

import sys

from benchmarks.suite import main

sys.exit(main(sys.argv[1:]))
