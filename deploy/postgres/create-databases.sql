-- One database per service, owned by the `frontdesk` role (run once by PostgreSQL's initdb
-- in compose.yml; on a host: `sudo -u postgres psql -f deploy/postgres/create-databases.sql`).
-- Set the role's password afterwards: ALTER ROLE frontdesk PASSWORD '...';
SELECT 'CREATE ROLE frontdesk LOGIN'
WHERE NOT EXISTS (SELECT FROM pg_roles WHERE rolname = 'frontdesk') \gexec
SELECT format('CREATE DATABASE %I OWNER frontdesk', name)
FROM unnest(ARRAY['frontdesk_booking', 'frontdesk_consent', 'frontdesk_notify', 'frontdesk_console']) AS name
WHERE NOT EXISTS (SELECT FROM pg_database WHERE datname = name) \gexec
