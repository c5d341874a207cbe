#!/usr/bin/env bash
# Runs once, when the PostgreSQL container initialises its data directory.
# parboard_owner owns the schema and runs migrations; parboard_app is what the application connects
# as: not a superuser, cannot bypass row-level security, owns nothing. With PARBOARD_JOBS_PASSWORD set,
# parboard_jobs too: the background jobs' role (DATABASE_JOBS_URL), which the tenant policies trust with the
# tenant alone; without it the jobs connect as the owner (see docs/running.md). Run `parboard db upgrade` after
# creating it: the migrations grant it its rights.
set -euo pipefail
psql -v ON_ERROR_STOP=1 --username "$POSTGRES_USER" --dbname "$POSTGRES_DB" <<SQL
CREATE ROLE parboard_owner LOGIN NOSUPERUSER NOBYPASSRLS NOCREATEROLE NOCREATEDB PASSWORD '${PARBOARD_OWNER_PASSWORD}';
CREATE ROLE parboard_app LOGIN NOSUPERUSER NOBYPASSRLS NOCREATEROLE NOCREATEDB NOINHERIT PASSWORD '${PARBOARD_APP_PASSWORD}';
CREATE DATABASE parboard OWNER parboard_owner ENCODING 'UTF8';
\connect parboard
ALTER SCHEMA public OWNER TO parboard_owner;
REVOKE ALL ON SCHEMA public FROM PUBLIC;
GRANT USAGE ON SCHEMA public TO parboard_app;
REVOKE ALL ON DATABASE parboard FROM PUBLIC;
GRANT CONNECT ON DATABASE parboard TO parboard_app, parboard_owner;
SQL
if [ -n "${PARBOARD_JOBS_PASSWORD:-}" ]; then
  psql -v ON_ERROR_STOP=1 --username "$POSTGRES_USER" --dbname parboard <<SQL
CREATE ROLE parboard_jobs LOGIN NOSUPERUSER NOBYPASSRLS NOCREATEROLE NOCREATEDB NOINHERIT PASSWORD '${PARBOARD_JOBS_PASSWORD}';
GRANT USAGE ON SCHEMA public TO parboard_jobs;
GRANT CONNECT ON DATABASE parboard TO parboard_jobs;
SQL
fi
