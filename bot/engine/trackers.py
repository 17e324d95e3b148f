"""Erasing a conversation from Rasa's tracker store (the citizen's right to deletion).

Rasa's HTTP API can replace a tracker's events (PUT /conversations/{id}/tracker/events), but its SQL
tracker store only ever appends: SQLTrackerStore.save writes the events it has not stored yet, so a
replacement with no events erases nothing. The rows are therefore deleted here, in the store Rasa is
configured with (bot/endpoints.yml: SQLite at settings.rasa_tracker_db, Rasa 3's table `events`).
Rasa reads a tracker from the store on every message, so the next message starts a new one.
"""

from pathlib import Path

from sqlalchemy import create_engine, inspect, text


def erase_tracker(tracker_db: Path, sender_id: str) -> int:
    """Delete every stored event of one conversation; returns how many rows went."""
    if not Path(tracker_db).exists():
        return 0
    engine = create_engine(f"sqlite:///{Path(tracker_db).resolve()}", connect_args={"timeout": 30})
    try:
        if not inspect(engine).has_table("events"):
            return 0
        with engine.begin() as connection:
            return connection.execute(text("DELETE FROM events WHERE sender_id = :sender"),
                                      {"sender": sender_id}).rowcount
    finally:
        engine.dispose()
