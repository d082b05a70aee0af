"""/api/v1 endpoints: subscribers."""
from . import bp  # noqa: F401
