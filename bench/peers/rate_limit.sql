-- Peer: check_rate_limit as a team following Creo's document would write it: an event
-- table, counted in the window under an advisory lock per (user, action).
CREATE TABLE IF NOT EXISTS public.peer_rate_events (
    user_id     uuid NOT NULL,
    action_type text NOT NULL,
    created_at  timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX IF NOT EXISTS peer_rate_events_lookup ON public.peer_rate_events (user_id, action_type, created_at);

CREATE OR REPLACE FUNCTION public.peer_check_rate_limit(user_uuid uuid, action_type text, limit_count integer, time_window interval)
RETURNS boolean
LANGUAGE plpgsql AS $$
DECLARE
    recent integer;
BEGIN
    PERFORM pg_advisory_xact_lock(hashtext(user_uuid::text || ':' || action_type));
    SELECT count(*) INTO recent FROM public.peer_rate_events e
     WHERE e.user_id = user_uuid AND e.action_type = peer_check_rate_limit.action_type
       AND e.created_at > now() - time_window;
    IF recent >= limit_count THEN
        RETURN false;
    END IF;
    INSERT INTO public.peer_rate_events (user_id, action_type) VALUES (user_uuid, peer_check_rate_limit.action_type);
    RETURN true;
END
$$;
