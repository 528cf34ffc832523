"""Staff: accounts, sessions, the role policy, audited reveals and hand-offs (issue 11)."""
