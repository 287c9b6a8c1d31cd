-- Credits: the ledger and the atomic balance changes (native: src/credits.rs).
-- Created once, at install: later versions change what is here only through
-- hand-written steps in sql/migrations/ (this file holds the current shape).

-- Money relations use ON DELETE RESTRICT: a user with financial history cannot be
-- hard-deleted by accident (soft-delete them instead).
-- One row per change of a user's credits; credit_balances.credits is the running
-- balance and always equals the sum of the user's ledger amounts.
CREATE TABLE vibecraft.credit_ledger (
    id              uuid NOT NULL DEFAULT vibecraft.uuid_generate_v7(),
    user_id         uuid NOT NULL REFERENCES vibecraft.users (id) ON DELETE RESTRICT,
    amount          integer NOT NULL CHECK (amount <> 0),
    balance_after   integer NOT NULL CHECK (balance_after >= 0),
    reason          text,
    actor_id        uuid,
    reference_type  varchar(50),
    reference_id    uuid,
    idempotency_key varchar(200),
    created_at      timestamptz NOT NULL DEFAULT now(),
    updated_at      timestamptz NOT NULL DEFAULT now(),
    -- The key names its user: Citus keeps a table apart by it (docs/scale-out.md).
    PRIMARY KEY (id, user_id)
);

CREATE INDEX credit_ledger_user_id_idx ON vibecraft.credit_ledger (user_id, created_at DESC);
CREATE UNIQUE INDEX credit_ledger_idempotency_key ON vibecraft.credit_ledger (user_id, idempotency_key)
    WHERE idempotency_key IS NOT NULL;

CREATE INDEX credit_ledger_reference_idx ON vibecraft.credit_ledger (reference_type, reference_id)
    WHERE reference_id IS NOT NULL;

-- Each user's balance, in a narrow row of its own rather than in the wide users row:
-- deduct_credits updates it on every call, and a narrow row with two CHECKs, no
-- indexed column but its key and free room on its page (fillfactor) is a cheap HOT
-- update; on a Citus cluster it lives with the user's ledger (docs/scale-out.md).
-- Opened for every user when the user is created (sql/credits/rules.sql).
-- credits_spent: lifetime credits spent, kept by deduct_credits in the same statement
-- (lifetime credits added = credits + credits_spent), so statistics need no ledger scan.
-- @since 0.2.0
CREATE TABLE vibecraft.credit_balances (
    user_id       uuid PRIMARY KEY REFERENCES vibecraft.users (id) ON DELETE CASCADE,
    credits       integer NOT NULL DEFAULT 0 CHECK (credits >= 0),
    credits_spent bigint NOT NULL DEFAULT 0 CHECK (credits_spent >= 0),
    created_at    timestamptz NOT NULL DEFAULT now(),
    updated_at    timestamptz NOT NULL DEFAULT now()
) WITH (fillfactor = 50);
