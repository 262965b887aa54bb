"""signing package."""
