"""/api/v1 endpoints: schedule."""
from . import bp  # noqa: F401
