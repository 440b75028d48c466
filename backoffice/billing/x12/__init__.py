"""X12 5010 for billing, pure: builders and readers with no I/O; pyx12 validates."""
