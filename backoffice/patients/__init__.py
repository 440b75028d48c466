"""The patient registry: demographics, emergency contacts, insurance policies, merges."""
