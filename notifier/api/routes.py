"""Imports every API endpoint module so that they register on the blueprint."""
import os

from . import contacts, events, rules, schedule, subscribers, telegram  # noqa: F401

if os.environ.get("BENCH_BARE_ENDPOINT") == "1":  # `make bench` only: the intake baseline
    from . import bench  # noqa: F401
