"""Postfix integration tests (a private Postfix per session; see conftest.py)."""
