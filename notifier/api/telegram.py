"""/api/v1 endpoints: telegram."""
from . import bp  # noqa: F401
