"""Alliance Digest: builds the bi-monthly US-Japan Alliance Digest from news feeds."""
