"""Films: `trainer movie`, starting the render child, contact sheets, numpy previews."""
