"""Background and periodic jobs on a PostgreSQL-backed queue (pgqueuer): `parboard worker` runs them."""
