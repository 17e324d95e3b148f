"""Web chat: the citizen's page and embeddable widget (page.py), and the JSON API and live stream they
talk to (router.py)."""
