"""Web chat: the JSON API the widget talks to."""
