"""The service layer: every user action is one call here, permission checked inside, one transaction."""
