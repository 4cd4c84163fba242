"""The HTTP API benchmark: ``.venv/bin/python benchmarks/http.py`` (see ``_bench_http.py``).

Triggers per second over HTTP with 32 concurrent clients on PostgreSQL, and SSE
fan-out to 1,000 subscribers of one tag, printed as a table.

``benchmarks/`` is on ``sys.path`` of the benchmark's child processes, so this file
would shadow the standard library's ``http`` package there: imported under that name
it puts the real package in its place (and does nothing else).
"""

from __future__ import annotations

import importlib.machinery
import importlib.util
import sys
import sysconfig

if __name__ == "__main__":
    from _bench_http import main

    sys.exit(main())
else:  # imported as ``http``: become the standard library's package
    _spec = importlib.machinery.PathFinder.find_spec(__name__, [sysconfig.get_path("stdlib")])
    if _spec is None or _spec.loader is None:
        raise ImportError(f"cannot find the standard library's {__name__!r} package")
    _module = importlib.util.module_from_spec(_spec)
    sys.modules[__name__] = _module
    _spec.loader.exec_module(_module)
