"""choreo stage of MagicDance (see DESIGN.md)."""
