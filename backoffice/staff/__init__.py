"""Staff accounts, sign-in and refresh tokens."""
