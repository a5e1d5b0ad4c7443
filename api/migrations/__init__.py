"""Database schema migrations (Alembic), applied by :func:`api.db.init_db` at every start."""
