"""The storage ports, one per concern; :class:`~switchyard.storage.base.Storage` is all of them."""
