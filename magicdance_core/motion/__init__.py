"""motion stage of MagicDance (see DESIGN.md)."""
