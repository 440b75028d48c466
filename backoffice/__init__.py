"""The Frontdesk back office: FastAPI over SQLite (embedded) or PostgreSQL."""
