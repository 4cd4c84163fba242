"""The HTTP API: ``switchyard server`` and ``switchyard dev`` serve :func:`create_app`.

Routes live in one module per concern (``tokens``, ``health``, …); ``errors`` holds the
JSON error shape every route uses, ``auth`` the API-key check.
"""

from switchyard.server.app import create_app

__all__ = ["create_app"]
