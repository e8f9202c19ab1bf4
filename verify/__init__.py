"""Claim checks: one module per topic, run with `python -m verify`.

This package's __init__ imports nothing heavy, so the site build can read
reports and fingerprints (verify._report) without importing torch.
"""
