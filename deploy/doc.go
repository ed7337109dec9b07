// Package deploy holds what the docker compose stack mounts besides the
// journeys image: postgres-init.sql (the send ledger's role and database)
// and temporal-dynamicconfig.yaml (the Temporal server's dynamic config).
// Its tests, which need no Docker, keep docker-compose.yml, the Dockerfile,
// .dockerignore and .env.example in step with the code: pinned images that
// match go.mod, the search attributes of workflows.SearchAttributes, the
// environment variables the code reads, ports, start order and scaling.
package deploy
