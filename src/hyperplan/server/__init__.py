"""The hyperplan server: FastAPI app, auth and roles, durable jobs (imports the library)."""
