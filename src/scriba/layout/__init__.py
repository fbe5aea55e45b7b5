"""Pages: find the text lines of a page image (``segment``), read them (``read``; the entry point is
``Recognizer.read_page(image) -> page.Page``) and write the result as JSON, PAGE XML or ALTO (``writers``).
See docs/pages.md. Nothing is imported here, so that the CLI can parse its arguments without OpenCV.
"""
