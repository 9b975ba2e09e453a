"""DuckDB connections whose buffer memory is capped, spilling to a temporary directory beyond the cap."""

from __future__ import annotations

import tempfile
from collections.abc import Iterator
from contextlib import contextmanager

import duckdb

# DuckDB's own default cap is 80 % of the machine's RAM, so a sort over a million service rows
# would keep every row in memory. Publishing aims at a peak of 1.5 GB per process, and this cap
# leaves the rest of that budget to Python and to DuckDB allocations outside its buffer manager.
MEMORY_LIMIT = "512MB"


@contextmanager
def connect() -> Iterator[duckdb.DuckDBPyConnection]:
    """Open an in-memory DuckDB connection capped at MEMORY_LIMIT and remove its spill files on exit."""
    with tempfile.TemporaryDirectory(prefix="huiju-duckdb-") as spill_dir, \
            duckdb.connect(config={"memory_limit": MEMORY_LIMIT, "temp_directory": spill_dir}) as connection:
        yield connection
