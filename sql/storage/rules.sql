-- Storage: buckets with size and MIME limits, project assets (audio_recordings), signed URLs (src/storage.rs).
-- Re-runnable: functions, views, policies, triggers, grants and comments, written so
-- that every upgrade runs this file again (make upgrade-scripts).

-- Visual Prompt Builder's audio_recordings: the audio assets.
CREATE OR REPLACE VIEW vibecraft.audio_recordings WITH (security_invoker = true) AS
SELECT id, project_id, user_id, bucket_id, file_name, file_path, file_size, mime_type,
       duration_seconds, transcription, metadata, asset_type, created_at, updated_at
  FROM vibecraft.project_assets
 WHERE asset_type = 'audio'
  WITH CASCADED CHECK OPTION;

ALTER VIEW vibecraft.audio_recordings ALTER COLUMN asset_type SET DEFAULT 'audio';

-- Storage rules (Visual Prompt Builder, VibeCraft Studio): every asset row is checked
-- against its bucket by the database, whichever client writes it. Signed URLs are
-- native (src/storage.rs).

-- Size within the bucket's limit, MIME type among the bucket's allowed types ('image/*'
-- matches any image), and a path scoped to the owner: '<user_id>/...', no '..' segment,
-- no leading '/', no backslash. An asset without a bucket goes to 'audio-recordings'
-- (audio) or 'project-assets' (anything else).
CREATE OR REPLACE FUNCTION vibecraft.check_asset_against_bucket()
RETURNS trigger
LANGUAGE plpgsql SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    b record;
BEGIN
    IF NEW.bucket_id IS NULL THEN
        SELECT id INTO NEW.bucket_id FROM vibecraft.storage_buckets
         WHERE name = CASE WHEN NEW.asset_type = 'audio' THEN 'audio-recordings' ELSE 'project-assets' END;
    END IF;
    SELECT name, file_size_limit, allowed_mime_types INTO b FROM vibecraft.storage_buckets WHERE id = NEW.bucket_id;
    IF NOT FOUND THEN
        RETURN NEW; -- the foreign key reports the unknown bucket
    END IF;
    IF b.file_size_limit IS NOT NULL AND NEW.file_size > b.file_size_limit THEN
        RAISE EXCEPTION 'vibecraft: a file of % bytes is over the % bucket''s limit of % bytes', NEW.file_size, b.name, b.file_size_limit
            USING ERRCODE = '23514', TABLE = 'project_assets', COLUMN = 'file_size';
    END IF;
    IF b.allowed_mime_types IS NOT NULL AND NOT EXISTS (
           SELECT 1 FROM unnest(b.allowed_mime_types) m
            WHERE lower(NEW.mime_type) = lower(m)
               OR (m LIKE '%/*' AND lower(NEW.mime_type) LIKE lower(left(m, -1)) || '%')) THEN
        RAISE EXCEPTION 'vibecraft: the % bucket does not take files of type %', b.name, coalesce(NEW.mime_type, 'NULL')
            USING ERRCODE = '23514', TABLE = 'project_assets', COLUMN = 'mime_type',
                  HINT = 'Allowed: ' || array_to_string(b.allowed_mime_types, ', ');
    END IF;
    IF NEW.file_path NOT LIKE NEW.user_id::text || '/_%'
       OR NEW.file_path ~ '(^|/)\.\.(/|$)' OR strpos(NEW.file_path, E'\\') > 0 OR strpos(NEW.file_path, '//') > 0 THEN
        RAISE EXCEPTION 'vibecraft: file_path must be ''<user_id>/...'' of the file''s owner, without ''..'', ''//'' or backslashes, not %',
            quote_literal(NEW.file_path)
            USING ERRCODE = '23514', TABLE = 'project_assets', COLUMN = 'file_path';
    END IF;
    RETURN NEW;
END
$$;

CREATE OR REPLACE TRIGGER check_asset_against_bucket
    BEFORE INSERT OR UPDATE OF bucket_id, file_path, file_size, mime_type, user_id ON vibecraft.project_assets
    FOR EACH ROW EXECUTE FUNCTION vibecraft.check_asset_against_bucket();

COMMENT ON FUNCTION vibecraft.check_asset_against_bucket() IS
    'Trigger: an asset must fit its bucket (size limit, allowed MIME types) and live under ''<user_id>/''; 23514 otherwise.';

COMMENT ON FUNCTION vibecraft.sign_url(text, text, interval) IS
    'A URL for an object that verify_signed_url accepts until expires_in has passed (at most 7 days); HMAC-SHA256 with a key derived from the superuser-only JWT secret. Only for objects the caller may read (or in a public bucket): 42501 otherwise.';

COMMENT ON FUNCTION vibecraft.verify_signed_url(text) IS
    'Whether a URL made by sign_url is unaltered and unexpired; false for anything else.';

COMMENT ON TABLE vibecraft.project_assets IS 'Files of a project in a storage bucket (images, audio). Also reachable as audio_recordings.';
COMMENT ON TABLE vibecraft.storage_buckets IS 'Storage buckets: public or not, size limit, allowed MIME types. Installed rows have fixed ids.';
COMMENT ON VIEW vibecraft.audio_recordings IS 'Seed name of project_assets (audio); auto-updatable, RLS applies.';

-- Assets: the project's viewers read them; its editors add them, as themselves (so a
-- path under another user's prefix can never be claimed), and edit or delete them; an
-- asset never moves to another user, project or bucket by a plain UPDATE.
CREATE POLICY viewer_read ON vibecraft.project_assets FOR SELECT
    USING (project_id = ANY (vibecraft.project_ids_with_role('viewer')));
CREATE POLICY editor_insert ON vibecraft.project_assets FOR INSERT
    WITH CHECK (project_id = ANY (vibecraft.project_ids_with_role('editor'))
                AND user_id BETWEEN vibecraft.owner_scope_low() AND vibecraft.owner_scope_high());
CREATE POLICY editor_update ON vibecraft.project_assets FOR UPDATE
    USING (project_id = ANY (vibecraft.project_ids_with_role('editor')))
    WITH CHECK (project_id = ANY (vibecraft.project_ids_with_role('editor')));
CREATE POLICY editor_delete ON vibecraft.project_assets FOR DELETE
    USING (project_id = ANY (vibecraft.project_ids_with_role('editor')));

-- Reference data: readable by everyone, anon included; staff (admins) add and edit rows,
-- and delete those users added (the installed rows, is_system, stay).
CREATE POLICY everyone_read ON vibecraft.storage_buckets FOR SELECT USING (true);
CREATE POLICY staff_insert ON vibecraft.storage_buckets FOR INSERT
    WITH CHECK (vibecraft.is_service() OR vibecraft.is_admin());
CREATE POLICY staff_update ON vibecraft.storage_buckets FOR UPDATE
    USING (vibecraft.is_service() OR vibecraft.is_admin())
    WITH CHECK (vibecraft.is_service() OR vibecraft.is_admin());
CREATE POLICY staff_delete ON vibecraft.storage_buckets FOR DELETE
    USING ((vibecraft.is_service() OR vibecraft.is_admin()) AND NOT is_system);

-- Privileges.
GRANT EXECUTE ON FUNCTION vibecraft.verify_signed_url(text) TO vibecraft_anon, vibecraft_authenticated, vibecraft_service;
GRANT EXECUTE ON FUNCTION vibecraft.sign_url(text, text, interval) TO vibecraft_authenticated, vibecraft_service;
GRANT SELECT, DELETE, INSERT (name, public, file_size_limit, allowed_mime_types), UPDATE (name, public, file_size_limit, allowed_mime_types) ON vibecraft.storage_buckets TO vibecraft_authenticated;
GRANT SELECT, DELETE,
      INSERT (id, project_id, user_id, bucket_id, asset_type, file_name, file_path, file_size, mime_type,
              duration_seconds, transcription, metadata),
      UPDATE (asset_type, file_name, file_size, mime_type, duration_seconds, transcription, metadata)
  ON vibecraft.project_assets TO vibecraft_authenticated;
GRANT SELECT, DELETE,
      INSERT (id, project_id, user_id, bucket_id, file_name, file_path, file_size, mime_type, duration_seconds,
              transcription, metadata, asset_type),
      UPDATE (file_name, file_size, mime_type, duration_seconds, transcription, metadata, asset_type)
  ON vibecraft.audio_recordings TO vibecraft_authenticated;
GRANT SELECT ON vibecraft.storage_buckets TO vibecraft_anon;
