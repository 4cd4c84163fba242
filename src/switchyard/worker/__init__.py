"""Workers: claim runs, execute attempts, report outcomes, keep leases, recover others."""

from switchyard.worker.worker import Worker

__all__ = ["Worker"]
