"""`python -m benchmarks [--size-mib N ...]`: streaming throughput against a plain upload, and peak memory."""

import sys

from benchmarks.stream_to_blob import main

sys.exit(main(sys.argv[1:]))
