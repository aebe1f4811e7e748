#!/bin/sh
# One-shot job (docker-compose.yml, service temporal-schema): create Temporal's two PostgreSQL
# databases and bring their schemas to the version of this admin-tools image.
#
# Safe to run again. setup-schema -v 0.0 leaves a database that already has a newer schema alone,
# and update-schema applies only the versions it lacks, which is also how a Temporal upgrade
# migrates: run this job with the new admin-tools image before starting the new server.
set -eu
: "${POSTGRES_SEEDS:?set POSTGRES_SEEDS}" "${POSTGRES_USER:?set POSTGRES_USER}"
: "${SQL_PASSWORD:?set SQL_PASSWORD}"
port="${DB_PORT:-5432}"
schemas=/etc/temporal/schema/postgresql/v12

sql_tool() {
    temporal-sql-tool --plugin postgres12 --ep "$POSTGRES_SEEDS" -p "$port" -u "$POSTGRES_USER" "$@"
}

migrate() {
    database=$1
    versioned=$schemas/$2/versioned
    # create fails when the database exists, the normal case after the first start; a real
    # failure (no connection, bad password) shows again in setup-schema, which ends the job.
    sql_tool --db "$database" create || echo "database $database: not created (it exists?)"
    sql_tool --db "$database" setup-schema -v 0.0
    sql_tool --db "$database" update-schema -d "$versioned"
    echo "database $database: schema up to date"
}

migrate temporal temporal
migrate temporal_visibility visibility
