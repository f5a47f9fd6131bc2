"""Who may call: JWT verification, issuers' keys, trust, replay protection, operator secrets."""
