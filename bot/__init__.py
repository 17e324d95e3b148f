"""The conversation: dialogue domain, turn pipeline, rendering, store, action server, app and CLI."""

SUPPORTED_LANGUAGES: tuple[str, ...] = ("da", "ar", "so", "tr", "fa", "en")
"""Languages Brobygger speaks: five for citizens, English as a courtesy. Order is the menu order."""
