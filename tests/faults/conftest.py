"""The end-to-end fixtures (worker processes, attempt records, the SDK) serve here too."""

from tests.e2e.test_worker_processes import records_dir, sdk, workers  # noqa: F401
