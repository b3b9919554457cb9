"""Microstructure-resolved electrochemistry on voxel volumes (planned)."""
