-- New runs wake idle workers without an extra round trip per trigger: a statement-level
-- trigger sends NOTIFY switchyard once per INSERT statement.

CREATE FUNCTION switchyard_notify_runs() RETURNS trigger AS $$
BEGIN
    PERFORM pg_notify('switchyard', '');
    RETURN NULL;
END
$$ LANGUAGE plpgsql;

CREATE TRIGGER runs_notify AFTER INSERT ON runs
    FOR EACH STATEMENT EXECUTE FUNCTION switchyard_notify_runs();
