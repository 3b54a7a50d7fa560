"""photo stage of MagicDance (see DESIGN.md)."""
