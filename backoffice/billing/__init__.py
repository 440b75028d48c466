"""Billing and the revenue cycle: charges, claims (X12 837P), remittances (835), eligibility
(270/271), statements and A/R."""
