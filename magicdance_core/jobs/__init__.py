"""jobs stage of MagicDance (see DESIGN.md)."""
