"""/api/v1 endpoints: rules."""
from . import bp  # noqa: F401
