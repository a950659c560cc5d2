"""Pictures of each judgment, drawn with matplotlib and embedded as PNG in Markdown metadata."""
