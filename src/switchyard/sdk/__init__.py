"""What user code touches: tasks, queues, triggering, run context and config."""
