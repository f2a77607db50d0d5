"""Shared pytest configuration: helpers live in integration/mvirt_test.py."""
