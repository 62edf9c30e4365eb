"""Views of the OneRoster blueprint (admins only)."""
