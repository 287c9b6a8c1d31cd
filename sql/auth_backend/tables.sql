-- The auth backend's tables (Auth.js / NextAuth): accounts, sessions (user_sessions), verification tokens.
-- Created once, at install: later versions change what is here only through
-- hand-written steps in sql/migrations/ (this file holds the current shape).

-- Auth.js (NextAuth) tables, in snake_case.
CREATE TABLE vibecraft.accounts (
    id                  uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    user_id             uuid NOT NULL REFERENCES vibecraft.users (id) ON DELETE CASCADE,
    type                varchar(30) NOT NULL CHECK (type IN ('oauth', 'oidc', 'email', 'credentials', 'webauthn')),
    provider            varchar(100) NOT NULL,
    provider_account_id varchar(255) NOT NULL,
    refresh_token       text,
    access_token        text,
    expires_at          bigint,
    token_type          varchar(50),
    scope               text,
    id_token            text,
    session_state       text,
    created_at          timestamptz NOT NULL DEFAULT now(),
    updated_at          timestamptz NOT NULL DEFAULT now(),
    UNIQUE (provider, provider_account_id)
);

CREATE INDEX accounts_user_id_idx ON vibecraft.accounts (user_id);

-- Auth.js sessions; PromptCraft's user_sessions is a view of this table.
CREATE TABLE vibecraft.sessions (
    id               uuid NOT NULL DEFAULT gen_random_uuid(),
    user_id          uuid NOT NULL REFERENCES vibecraft.users (id) ON DELETE CASCADE,
    session_token    varchar(255) NOT NULL UNIQUE,
    expires          timestamptz NOT NULL,
    ip_address       inet,
    user_agent       text,
    last_activity_at timestamptz NOT NULL DEFAULT now(),
    created_at       timestamptz NOT NULL DEFAULT now(),
    updated_at       timestamptz NOT NULL DEFAULT now(),
    -- The key names its session token: Citus keeps a table apart by it (docs/scale-out.md).
    PRIMARY KEY (id, session_token)
);

CREATE INDEX sessions_user_id_idx ON vibecraft.sessions (user_id);
CREATE INDEX sessions_expires_idx ON vibecraft.sessions (expires);

CREATE TABLE vibecraft.verification_tokens (
    id         uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    identifier varchar(255) NOT NULL,
    token      varchar(255) NOT NULL UNIQUE,
    expires    timestamptz NOT NULL,
    created_at timestamptz NOT NULL DEFAULT now(),
    updated_at timestamptz NOT NULL DEFAULT now(),
    UNIQUE (identifier, token)
);

CREATE INDEX verification_tokens_expires_idx ON vibecraft.verification_tokens (expires);
