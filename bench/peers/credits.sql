-- Peer: deduct_credits as a team following Creo's document would write it.
CREATE OR REPLACE FUNCTION public.peer_deduct_credits(user_uuid uuid, amount integer)
RETURNS boolean
LANGUAGE plpgsql AS $$
DECLARE
    new_balance integer;
BEGIN
    UPDATE vibecraft.users SET credits = credits - amount
     WHERE id = user_uuid AND credits >= amount
    RETURNING credits INTO new_balance;
    IF NOT FOUND THEN
        RETURN false;
    END IF;
    INSERT INTO vibecraft.credit_ledger (user_id, amount, balance_after, reason)
    VALUES (user_uuid, -amount, new_balance, 'bench');
    RETURN true;
END
$$;
