"""Short, device-agnostic implementations shown on the site; one module per topic."""
