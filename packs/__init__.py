"""Definition packs shipped with Trellis, as package data (no code runs from a pack)."""
