"""The auditors' engine: replay, re-execution, checkpoints, XES, analytics, case search."""
