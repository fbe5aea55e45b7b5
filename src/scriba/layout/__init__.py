"""Pages: find the text lines of a page image and write what was read as JSON, PAGE XML or ALTO."""
