"""Run the department system server until Ctrl-C: ``python -m department_systems [--port N]``.

``--catalog`` and ``--departments`` serve another catalog instead of the bundled one, such as a
synthetic catalog from ``python -m department_systems.synthetic``; the provincial portal then
republishes no department.
"""

from __future__ import annotations

import argparse
import logging
import threading

from pathlib import Path

from department_systems.server import DepartmentSystemServer


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(
        prog="python -m department_systems",
        description="Serve the 广安区 department systems (JSON API and CSV export) on a local port.",
    )
    parser.add_argument("--host", default="127.0.0.1", help="address to bind (default: 127.0.0.1)")
    parser.add_argument("--port", type=int, default=0, help="TCP port to bind; 0 picks a free port (default: 0)")
    parser.add_argument("--verbose", action="store_true", help="log every request")
    parser.add_argument("--catalog", type=Path, help="catalog JSON to serve instead of the bundled 广安区 catalog")
    parser.add_argument("--departments", type=Path, help="slug,department CSV of that catalog (needs --catalog)")
    args = parser.parse_args(argv)
    if (args.catalog is None) != (args.departments is None):
        parser.error("--catalog and --departments go together")
    catalog_options = {}
    if args.catalog is not None:
        catalog_options = {"catalog_path": args.catalog, "departments_path": args.departments, "portal_slugs": ()}

    logging.basicConfig(level=logging.DEBUG if args.verbose else logging.INFO, format="%(message)s")

    with DepartmentSystemServer(args.host, args.port, **catalog_options) as server:
        print(server.base_url, flush=True)
        print(f"export HUIJU_DEPT_BASE_URL={server.base_url}", flush=True)
        print("Press Ctrl-C to stop.", flush=True)
        try:
            threading.Event().wait()
        except KeyboardInterrupt:
            pass


if __name__ == "__main__":
    main()
