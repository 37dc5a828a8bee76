"""The base package: helpers every app may use (charts, CSV export, canonical JSON and hashes, link
tokens, the on-commit task base). It imports no app of this project, only Django, Celery and the
standard library; the import contract in pyproject.toml holds it to that."""
