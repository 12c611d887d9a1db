"""Third-party apps: OAuth2 clients, their approval and secrets, and members' grants to them."""
