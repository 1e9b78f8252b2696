"""The hyperplan server: the FastAPI app, auth and roles, the durable jobs and their workers
(imports the library; nothing below imports it)."""
