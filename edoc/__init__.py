"""edoc package."""
