-- The claim walks installations in turn (the one that waited longest
-- first) and takes each one's oldest ready job through this index, instead
-- of ordering every queued job at each claim.
CREATE INDEX jobs_by_installation ON jobs (COALESCE(installation_id, 0), state, id);
-- The turns, oldest first.
CREATE INDEX turns_by_last_claim ON turns (last_claim);
-- Every installation with a job takes turns, however the job was queued
-- (a delivery, a follow-up, a copy from SQLite): a new turn counts as the
-- oldest.
CREATE FUNCTION dslp_take_turn() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO turns (installation_id, last_claim)
    SELECT DISTINCT COALESCE(installation_id, 0), 0 FROM queued_now
    ON CONFLICT (installation_id) DO NOTHING;
    RETURN NULL;
END $$;
CREATE TRIGGER jobs_take_turns AFTER INSERT ON jobs
    REFERENCING NEW TABLE AS queued_now
    FOR EACH STATEMENT EXECUTE FUNCTION dslp_take_turn();
INSERT INTO turns (installation_id, last_claim)
SELECT DISTINCT COALESCE(installation_id, 0), 0 FROM jobs
ON CONFLICT (installation_id) DO NOTHING;
