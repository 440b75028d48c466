"""Small building blocks every domain uses: column types, pagination, request context."""
