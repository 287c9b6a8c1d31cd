-- Peer: deduct_credits as a team following Creo's document would write it, on that
-- document's own tables: a user_profiles table (credits, subscription plan and status,
-- metadata; indexes on email, subscription_plan and created_at; the usual updated_at
-- trigger) and a credit transactions table with one (user_id, created_at) index.
-- bench/setup.sql loads them with the same users and history as vibecraft's tables.
CREATE TABLE IF NOT EXISTS public.peer_user_profiles (
    id                  uuid PRIMARY KEY,
    email               text NOT NULL UNIQUE,
    full_name           text,
    credits             integer NOT NULL DEFAULT 0 CHECK (credits >= 0),
    subscription_plan   text NOT NULL DEFAULT 'free' CHECK (subscription_plan IN ('free', 'basic', 'pro', 'enterprise')),
    subscription_status text NOT NULL DEFAULT 'active',
    metadata            jsonb NOT NULL DEFAULT '{}',
    created_at          timestamptz NOT NULL DEFAULT now(),
    updated_at          timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX IF NOT EXISTS peer_user_profiles_plan_idx ON public.peer_user_profiles (subscription_plan);
CREATE INDEX IF NOT EXISTS peer_user_profiles_created_idx ON public.peer_user_profiles (created_at);
CREATE OR REPLACE TRIGGER peer_user_profiles_updated_at BEFORE UPDATE ON public.peer_user_profiles
    FOR EACH ROW EXECUTE FUNCTION public.peer_set_updated_at();

CREATE TABLE IF NOT EXISTS public.peer_credit_transactions (
    id            uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    user_id       uuid NOT NULL REFERENCES public.peer_user_profiles (id),
    amount        integer NOT NULL,
    balance_after integer NOT NULL,
    reason        text,
    created_at    timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX IF NOT EXISTS peer_credit_transactions_user_idx ON public.peer_credit_transactions (user_id, created_at);

CREATE OR REPLACE FUNCTION public.peer_deduct_credits(user_uuid uuid, amount integer)
RETURNS boolean
LANGUAGE plpgsql AS $$
DECLARE
    new_balance integer;
BEGIN
    UPDATE public.peer_user_profiles SET credits = credits - amount
     WHERE id = user_uuid AND credits >= amount
    RETURNING credits INTO new_balance;
    IF NOT FOUND THEN
        RETURN false;
    END IF;
    INSERT INTO public.peer_credit_transactions (user_id, amount, balance_after, reason)
    VALUES (user_uuid, -amount, new_balance, 'bench');
    RETURN true;
END
$$;
