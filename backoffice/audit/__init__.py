"""The append-only, hash-chained audit trail of who touched which record."""
