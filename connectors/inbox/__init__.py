"""The built-in counsellor inbox: the queue of conversations handed to people, claiming, replying on
the citizen's channel, handing back to the bot and closing (API under /api/counsellor)."""
