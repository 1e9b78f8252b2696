"""Reports: terminal tables and HTML."""
