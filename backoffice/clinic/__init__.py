"""The practice itself: its locations and its providers."""
