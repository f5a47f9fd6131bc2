"""Governance: suppression while a snooze runs, and the report of what cards did."""
