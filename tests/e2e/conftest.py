"""The worker-process fixtures of ``test_worker_processes`` serve every end-to-end module."""

from tests.e2e.test_worker_processes import records_dir, sdk, workers  # noqa: F401
