"""The only door to the dialogue engine (Rasa). Nothing else in the app knows Rasa exists.

* `client`   — async HTTP client: REST-channel turns, parse, tracker events, status, models.
* `process`  — the engine's files: training (cached by a hash of its inputs) and the server process.
* `actions`  — the action-server protocol Rasa speaks when it calls our custom actions.

Replacing Rasa with another engine means replacing this package.
"""
