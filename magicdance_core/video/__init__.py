"""video stage of MagicDance (see DESIGN.md)."""
