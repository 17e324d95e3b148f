"""The administrators' catalogue tools: the stale-offer report, importing offers (HSDS JSON, our CSV) with
a validation report, and re-indexing the running app's search with progress (API under /api/admin)."""
