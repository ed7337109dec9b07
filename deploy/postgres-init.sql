-- The send ledger's role and database, next to Temporal's on the compose
-- stack's PostgreSQL. The postgres image runs this file once, when it
-- initialises an empty data volume (docker-compose.yml mounts it into
-- /docker-entrypoint-initdb.d), as the superuser, with psql and
-- ON_ERROR_STOP. The ledger creates its table itself on first use.
--
-- The password comes from the container's environment (LEDGER_DB_PASSWORD,
-- set from .env), never from this file. Changing it later takes
-- ALTER ROLE journeys PASSWORD '...' as well as a new .env.

\getenv ledger_password LEDGER_DB_PASSWORD

CREATE ROLE journeys LOGIN PASSWORD :'ledger_password';
CREATE DATABASE journeys OWNER journeys;
-- Only its owner (and the superuser) may connect to the ledger.
REVOKE CONNECT, TEMPORARY ON DATABASE journeys FROM PUBLIC;
