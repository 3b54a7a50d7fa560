"""metrics stage of MagicDance (see DESIGN.md)."""
