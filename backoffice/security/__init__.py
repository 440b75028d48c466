"""Authentication, roles and permissions, tokens, and field encryption."""
