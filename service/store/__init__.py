"""What the service keeps in its database: feedback, the issuance ledger, and their tables."""
