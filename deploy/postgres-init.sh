# Run once by the PostgreSQL image, on an empty data volume, as POSTGRES_USER
# (the official image and ./postgres both source it). Every owner gets a role
# and a database of its own: auth (the gateway's API keys), catalogue,
# inventory, payment, webhooks, and sandbox (the card sandbox's ledger, which
# stands in for a processor's records: the payment process holds its key
# too), each role's password in <NAME>_DB_PASSWORD.
# No role can connect to a database it does not own, so a process holds the
# key to its own data only.
for db in auth catalogue inventory payment sandbox webhooks; do
  var=$(echo "${db}_DB_PASSWORD" | tr '[:lower:]' '[:upper:]')
  eval "password=\${$var:?$var is needed}"
  psql -v ON_ERROR_STOP=1 -q -U "$POSTGRES_USER" -d postgres --set=db="$db" --set=password="$password" <<'SQL'
CREATE ROLE :"db" LOGIN PASSWORD :'password';
CREATE DATABASE :"db" OWNER :"db";
REVOKE ALL ON DATABASE :"db" FROM PUBLIC;
SQL
done
