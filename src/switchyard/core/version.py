"""The package's version, in one place (``switchyard.__version__``, the client's User-Agent)."""

VERSION = "0.1.0"
