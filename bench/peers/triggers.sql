-- Peers: the triggers a team following the source documents would write by hand.

-- The usual PL/pgSQL updated_at trigger.
CREATE OR REPLACE FUNCTION public.peer_set_updated_at() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    NEW.updated_at := now();
    RETURN NEW;
END
$$;

-- The usual to_jsonb audit trigger (before/after, changed columns for updates).
CREATE TABLE IF NOT EXISTS public.peer_audit_log (
    id bigserial PRIMARY KEY,
    table_name text NOT NULL,
    operation text NOT NULL,
    record_id text,
    old_data jsonb,
    new_data jsonb,
    changed_by name NOT NULL DEFAULT current_user,
    changed_at timestamptz NOT NULL DEFAULT now()
);

CREATE OR REPLACE FUNCTION public.peer_audit_trigger() RETURNS trigger
LANGUAGE plpgsql AS $$
DECLARE
    old_row jsonb;
    new_row jsonb;
BEGIN
    IF TG_OP = 'INSERT' THEN
        INSERT INTO public.peer_audit_log (table_name, operation, record_id, new_data)
        VALUES (TG_TABLE_NAME, TG_OP, NEW.id::text, to_jsonb(NEW));
        RETURN NEW;
    ELSIF TG_OP = 'UPDATE' THEN
        old_row := to_jsonb(OLD);
        new_row := to_jsonb(NEW);
        INSERT INTO public.peer_audit_log (table_name, operation, record_id, old_data, new_data)
        VALUES (TG_TABLE_NAME, TG_OP, NEW.id::text,
                (SELECT jsonb_object_agg(key, value) FROM jsonb_each(old_row) WHERE new_row->key IS DISTINCT FROM value),
                (SELECT jsonb_object_agg(key, value) FROM jsonb_each(new_row) WHERE old_row->key IS DISTINCT FROM value));
        RETURN NEW;
    ELSE
        INSERT INTO public.peer_audit_log (table_name, operation, record_id, old_data)
        VALUES (TG_TABLE_NAME, TG_OP, OLD.id::text, to_jsonb(OLD));
        RETURN OLD;
    END IF;
END
$$;
