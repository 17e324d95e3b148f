"""One citizen turn, whatever the channel: normalise → language → store → engine → render → store."""
