"""Imports every API endpoint module so that they register on the blueprint."""
from . import contacts, event_log, events, rules, schedule, subscribers, telegram  # noqa: F401
