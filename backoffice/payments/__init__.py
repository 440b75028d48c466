"""Payments: copays on the kiosk's card reader, the patient ledger, refunds, receipts."""
