"""Case mutations, one per file."""
