"""/api/v1 endpoints: events."""
from . import bp  # noqa: F401
