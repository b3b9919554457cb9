"""3D labelled microstructure volumes: IO, synthesis, metrics, transport, statistics."""
