"""Readers and writers (JSONL, Parquet) and the run log."""
