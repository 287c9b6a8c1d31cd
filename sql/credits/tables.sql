-- Credits: the ledger and the atomic balance changes (native: src/credits.rs).
-- Created once, at install: later versions change what is here only through
-- hand-written steps in sql/migrations/ (this file holds the current shape).

-- Money relations use ON DELETE RESTRICT: a user with financial history cannot be
-- hard-deleted by accident (soft-delete them instead).
-- One row per change of a user's credits; the users.credits column is the running
-- balance and always equals the sum of the user's ledger amounts.
CREATE TABLE vibecraft.credit_ledger (
    id              uuid PRIMARY KEY DEFAULT vibecraft.uuid_generate_v7(),
    user_id         uuid NOT NULL REFERENCES vibecraft.users (id) ON DELETE RESTRICT,
    amount          integer NOT NULL CHECK (amount <> 0),
    balance_after   integer NOT NULL CHECK (balance_after >= 0),
    reason          text,
    actor_id        uuid,
    reference_type  varchar(50),
    reference_id    uuid,
    idempotency_key varchar(200),
    created_at      timestamptz NOT NULL DEFAULT now(),
    updated_at      timestamptz NOT NULL DEFAULT now()
);

CREATE INDEX credit_ledger_user_id_idx ON vibecraft.credit_ledger (user_id, created_at DESC);
CREATE UNIQUE INDEX credit_ledger_idempotency_key ON vibecraft.credit_ledger (user_id, idempotency_key)
    WHERE idempotency_key IS NOT NULL;

CREATE INDEX credit_ledger_reference_idx ON vibecraft.credit_ledger (reference_type, reference_id)
    WHERE reference_id IS NOT NULL;
