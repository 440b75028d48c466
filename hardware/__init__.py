"""Camera, vision (OCR, barcodes) and serial devices, each with a simulator."""
