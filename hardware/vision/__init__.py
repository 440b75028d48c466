"""Reading what the kiosk camera and barcode reader see: licences, insurance cards, codes."""
