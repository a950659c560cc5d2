"""Names, paths, URL rules and durable file writes that every stage shares."""
