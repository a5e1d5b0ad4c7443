"""Database schema migrations (Alembic), applied by :func:`store.db.init_db` at every start."""
