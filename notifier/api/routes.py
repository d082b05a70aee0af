"""Imports every API endpoint module so that they register on the blueprint."""
from . import contacts, events, rules, schedule, subscribers, telegram  # noqa: F401
