"""Guidance passes (DensePose-style, IUV, semantic, depth, normal, mask, skeleton)
rendered from the dancer and a camera. See docs/passes.md."""
