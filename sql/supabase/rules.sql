-- Supabase: vibecraft.users follows GoTrue's auth.users (docs/supabase.md).
--
-- vibecraft.link_supabase_auth() puts three triggers on auth.users: a user GoTrue creates
-- gets its vibecraft.users row with the same id at once (so every vibecraft write works
-- for it without a profile insert of its own); a changed address or profile follows; a
-- deleted user is removed, or anonymised where its financial records must stay.
--
-- Why triggers and no foreign key from vibecraft.users to auth.users: a user with a
-- credit ledger, orders or payments keeps an anonymised row after GoTrue deletes it (the
-- ledger refers to it and must add up), which a foreign key would forbid; and pg_dump
-- does not dump constraints of an extension's tables, so such a key would vanish in a
-- restore. The triggers belong to auth.users, so pg_dump keeps them with that table.
--
-- The trigger functions run with the extension owner's rights: GoTrue's role
-- (supabase_auth_admin) holds no privilege on vibecraft, and none is needed. They never
-- make GoTrue's statement fail for a profile value vibecraft would refuse (too long, an
-- address another vibecraft user holds): that value is left out instead.

-- The profile fields vibecraft takes from GoTrue's user metadata (OAuth providers fill
-- full_name or name, and avatar_url or picture).
CREATE OR REPLACE FUNCTION vibecraft.auth_user_profile(meta jsonb)
RETURNS TABLE (name text, full_name text, avatar_url text)
LANGUAGE sql IMMUTABLE PARALLEL SAFE
SET search_path = pg_catalog, pg_temp
AS $$
    SELECT meta ->> 'name',
           coalesce(meta ->> 'full_name', meta ->> 'name'),
           coalesce(meta ->> 'avatar_url', meta ->> 'picture')
$$;

-- The vibecraft.users row of a GoTrue user, unless it has one.
CREATE OR REPLACE FUNCTION vibecraft.adopt_auth_user(user_uuid uuid, email text, email_confirmed_at timestamptz, meta jsonb)
RETURNS void
LANGUAGE plpgsql SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    p record;
BEGIN
    SELECT * INTO p FROM vibecraft.auth_user_profile(meta);
    BEGIN
        INSERT INTO vibecraft.users (id, email, email_verified, name, full_name, avatar_url)
        VALUES (user_uuid, email, email_confirmed_at, p.name, p.full_name, p.avatar_url)
        ON CONFLICT (id) DO NOTHING;
    EXCEPTION WHEN unique_violation OR check_violation OR string_data_right_truncation THEN
        -- The address is another vibecraft user's, or a value does not fit: the user
        -- still gets its row, without them.
        INSERT INTO vibecraft.users (id) VALUES (user_uuid) ON CONFLICT (id) DO NOTHING;
    END;
END
$$;

CREATE OR REPLACE FUNCTION vibecraft.on_auth_user_created()
RETURNS trigger
LANGUAGE plpgsql SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
    PERFORM vibecraft.adopt_auth_user(NEW.id, NEW.email, NEW.email_confirmed_at, NEW.raw_user_meta_data);
    RETURN NULL;
END
$$;

CREATE OR REPLACE FUNCTION vibecraft.on_auth_user_updated()
RETURNS trigger
LANGUAGE plpgsql SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    p record;
BEGIN
    -- GoTrue's soft delete (deleted_at set) is a deletion for vibecraft.
    IF NEW.deleted_at IS NOT NULL AND OLD.deleted_at IS NULL THEN
        PERFORM vibecraft.forget_auth_user(NEW.id);
        RETURN NULL;
    END IF;
    IF NEW.email IS DISTINCT FROM OLD.email OR NEW.email_confirmed_at IS DISTINCT FROM OLD.email_confirmed_at THEN
        BEGIN
            UPDATE vibecraft.users SET email = NEW.email, email_verified = NEW.email_confirmed_at
             WHERE id OPERATOR(pg_catalog.=) NEW.id;
        EXCEPTION WHEN unique_violation OR check_violation OR string_data_right_truncation THEN
            UPDATE vibecraft.users SET email = NULL, email_verified = NULL WHERE id OPERATOR(pg_catalog.=) NEW.id;
        END;
    END IF;
    IF NEW.raw_user_meta_data IS DISTINCT FROM OLD.raw_user_meta_data THEN
        SELECT * INTO p FROM vibecraft.auth_user_profile(NEW.raw_user_meta_data);
        BEGIN
            -- Only what the metadata names; a profile the user edited in vibecraft stays.
            UPDATE vibecraft.users
               SET name = coalesce(p.name, name), full_name = coalesce(p.full_name, full_name),
                   avatar_url = coalesce(p.avatar_url, avatar_url)
             WHERE id OPERATOR(pg_catalog.=) NEW.id;
        EXCEPTION WHEN check_violation OR string_data_right_truncation THEN
            NULL; -- a value vibecraft would refuse is not copied
        END;
    END IF;
    RETURN NULL;
END
$$;

-- Remove a user whose GoTrue account is gone; where its credit ledger, orders or
-- payments refer to it (ON DELETE RESTRICT: money records stay), keep the row, stripped
-- of everything personal and soft-deleted, so that the ledger still adds up.
CREATE OR REPLACE FUNCTION vibecraft.forget_auth_user(user_uuid uuid)
RETURNS text
LANGUAGE plpgsql SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
    BEGIN
        DELETE FROM vibecraft.users WHERE id OPERATOR(pg_catalog.=) user_uuid;
        RETURN 'deleted';
    EXCEPTION WHEN foreign_key_violation THEN
        UPDATE vibecraft.users
           SET email = NULL, email_verified = NULL, name = NULL, full_name = NULL, display_name = NULL,
               image = NULL, avatar_url = NULL, bio = NULL, preferences = '{}', metadata = '{}',
               is_active = false, status = 'INACTIVE', deleted_at = coalesce(deleted_at, pg_catalog.now())
         WHERE id OPERATOR(pg_catalog.=) user_uuid;
        RETURN 'anonymised';
    END;
END
$$;

CREATE OR REPLACE FUNCTION vibecraft.on_auth_user_deleted()
RETURNS trigger
LANGUAGE plpgsql SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
    PERFORM vibecraft.forget_auth_user(OLD.id);
    RETURN NULL;
END
$$;

CREATE OR REPLACE FUNCTION vibecraft.link_supabase_auth()
RETURNS text
LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    a record;
    created bigint := 0;
BEGIN
    IF pg_catalog.to_regclass('auth.users') IS NULL THEN
        RAISE EXCEPTION 'vibecraft.link_supabase_auth(): this database has no table auth.users'
            USING ERRCODE = '42P01', HINT = 'Run it in a Supabase database, once GoTrue has created its schema.';
    END IF;
    CREATE OR REPLACE TRIGGER vibecraft_user_created AFTER INSERT ON auth.users
        FOR EACH ROW EXECUTE FUNCTION vibecraft.on_auth_user_created();
    CREATE OR REPLACE TRIGGER vibecraft_user_updated
        AFTER UPDATE OF email, email_confirmed_at, raw_user_meta_data, deleted_at ON auth.users
        FOR EACH ROW EXECUTE FUNCTION vibecraft.on_auth_user_updated();
    CREATE OR REPLACE TRIGGER vibecraft_user_deleted AFTER DELETE ON auth.users
        FOR EACH ROW EXECUTE FUNCTION vibecraft.on_auth_user_deleted();
    -- The users GoTrue had before the link.
    FOR a IN SELECT g.id, g.email, g.email_confirmed_at, g.raw_user_meta_data FROM auth.users g
              WHERE g.deleted_at IS NULL
                AND NOT EXISTS (SELECT 1 FROM vibecraft.users u WHERE u.id OPERATOR(pg_catalog.=) g.id) LOOP
        PERFORM vibecraft.adopt_auth_user(a.id, a.email, a.email_confirmed_at, a.raw_user_meta_data);
        created := created OPERATOR(pg_catalog.+) 1;
    END LOOP;
    RETURN pg_catalog.format('vibecraft.users follows auth.users: %s users created now', created);
END
$$;

CREATE OR REPLACE FUNCTION vibecraft.unlink_supabase_auth()
RETURNS text
LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
    IF pg_catalog.to_regclass('auth.users') IS NOT NULL THEN
        DROP TRIGGER IF EXISTS vibecraft_user_created ON auth.users;
        DROP TRIGGER IF EXISTS vibecraft_user_updated ON auth.users;
        DROP TRIGGER IF EXISTS vibecraft_user_deleted ON auth.users;
    END IF;
    RETURN 'vibecraft.users no longer follows auth.users';
END
$$;

COMMENT ON FUNCTION vibecraft.link_supabase_auth() IS 'Supabase: vibecraft.users follows GoTrue''s auth.users (a row per new user, address and profile kept in step, removed or anonymised on deletion); creates the rows of existing users. Idempotent; superusers only.';
COMMENT ON FUNCTION vibecraft.unlink_supabase_auth() IS 'Supabase: removes the triggers link_supabase_auth() put on auth.users (rows stay).';
COMMENT ON FUNCTION vibecraft.forget_auth_user(uuid) IS 'Removes a user, or, where its credit ledger, orders or payments must stay, anonymises and soft-deletes it; ''deleted'' or ''anonymised''. Service role only.';
COMMENT ON FUNCTION vibecraft.adopt_auth_user(uuid, text, timestamptz, jsonb) IS 'The vibecraft.users row of a GoTrue user (same id, address, verification, profile from its metadata), unless it has one; a value vibecraft would refuse is left out.';
COMMENT ON FUNCTION vibecraft.auth_user_profile(jsonb) IS 'The name, full_name and avatar_url vibecraft takes from GoTrue''s raw_user_meta_data.';
COMMENT ON FUNCTION vibecraft.on_auth_user_created() IS 'Trigger on auth.users (link_supabase_auth): the new user''s vibecraft.users row.';
COMMENT ON FUNCTION vibecraft.on_auth_user_updated() IS 'Trigger on auth.users (link_supabase_auth): address, verification and profile follow; a soft delete forgets the user.';
COMMENT ON FUNCTION vibecraft.on_auth_user_deleted() IS 'Trigger on auth.users (link_supabase_auth): forget_auth_user() for the deleted user.';

GRANT EXECUTE ON FUNCTION vibecraft.forget_auth_user(uuid) TO vibecraft_service;
