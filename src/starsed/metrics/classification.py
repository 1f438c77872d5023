"""Classification metrics (REFERENCE §7)."""
