"""/api/v1 endpoints: contacts."""
from . import bp  # noqa: F401
