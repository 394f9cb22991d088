"""A case at runtime: the case service, one step's writes, state, event log, clocks, task rows, uploads."""
