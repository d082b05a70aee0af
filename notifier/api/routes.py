"""Imports every API endpoint module so that they register on the blueprint."""
