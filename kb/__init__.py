"""Site machinery: the claim gate (a Markdown extension) and the figures."""
