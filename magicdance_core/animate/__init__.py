"""animate stage of MagicDance (see DESIGN.md)."""
