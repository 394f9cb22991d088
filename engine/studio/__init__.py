"""The analysts' studio: drafts, version diffs, migration of running cases, the studio log."""
