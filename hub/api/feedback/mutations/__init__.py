"""Feedback mutations, one per file."""
