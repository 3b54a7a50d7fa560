"""audio stage of MagicDance (see DESIGN.md)."""
