"""Benchmarks: run each as a module, e.g. `.venv/bin/python -m benchmarks.patient_search`."""
