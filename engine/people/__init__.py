"""People: users, departments and lanes, sign-in limits."""
