"""What a message holds: the records' fields, the two streams, and validation."""
