"""Acceptance rules: 容缺受理, credit flags, 告知承诺 post-verification, data-sharing connectors."""
