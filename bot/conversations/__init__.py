"""Conversations and their messages, whatever the channel."""
