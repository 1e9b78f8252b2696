"""The server: the HTTP API, its auth, and the workers of durable background jobs."""
