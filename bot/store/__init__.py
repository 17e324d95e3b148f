"""Persistence: one SQLAlchemy engine per app (SQLite under var/ by default, PostgreSQL by URL)."""

from bot.store.db import Base, Store

__all__ = ["Base", "Store"]
