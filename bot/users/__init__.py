"""Counsellors and administrators: accounts, API tokens, role checks."""
