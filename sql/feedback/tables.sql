-- Feedback, its categories, tags and analytics.
-- Created once, at install: later versions change what is here only through
-- hand-written steps in sql/migrations/ (this file holds the current shape).

CREATE TABLE vibecraft.feedback_categories (
    id          uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    name        varchar(50) NOT NULL UNIQUE,
    description text,
    color       varchar(7) CHECK (color ~ '^#[0-9a-fA-F]{6}$'),
    sort_order  integer NOT NULL DEFAULT 0,
    is_active   boolean NOT NULL DEFAULT true,
    is_system   boolean NOT NULL DEFAULT false,
    created_at  timestamptz NOT NULL DEFAULT now(),
    updated_at  timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE vibecraft.feedback (
    id            uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    user_id       uuid REFERENCES vibecraft.users (id) ON DELETE SET NULL,
    category_id   uuid REFERENCES vibecraft.feedback_categories (id) ON DELETE SET NULL,
    message       text NOT NULL CHECK (btrim(message) <> ''),
    feedback_type varchar(50) NOT NULL DEFAULT 'general'
                  CHECK (feedback_type IN ('bug', 'feature', 'improvement', 'question', 'praise', 'general', 'support')),
    priority      varchar(20) NOT NULL DEFAULT 'medium'
                  CHECK (priority IN ('low', 'medium', 'high', 'urgent')),
    status        varchar(20) NOT NULL DEFAULT 'open'
                  CHECK (status IN ('open', 'in_progress', 'resolved', 'closed', 'wont_fix')),
    contact_email varchar(255) CHECK (contact_email ~* '^[^@[:space:]]+@[^@[:space:]]+\.[^@[:space:]]+$'),
    contact_name  varchar(100),
    user_agent    text,
    browser_info  jsonb NOT NULL DEFAULT '{}',
    device_info   jsonb NOT NULL DEFAULT '{}',
    admin_response text,
    admin_user_id uuid REFERENCES vibecraft.users (id) ON DELETE SET NULL,
    responded_at  timestamptz,
    rating        integer CHECK (rating BETWEEN 1 AND 5),
    created_at    timestamptz NOT NULL DEFAULT now(),
    updated_at    timestamptz NOT NULL DEFAULT now()
);

CREATE INDEX feedback_user_id_idx ON vibecraft.feedback (user_id);
CREATE INDEX feedback_category_id_idx ON vibecraft.feedback (category_id);
CREATE INDEX feedback_admin_user_id_idx ON vibecraft.feedback (admin_user_id);
CREATE INDEX feedback_open_idx ON vibecraft.feedback (priority, created_at) WHERE status IN ('open', 'in_progress');

CREATE TABLE vibecraft.feedback_tags (
    id          uuid NOT NULL DEFAULT gen_random_uuid(),
    feedback_id uuid NOT NULL REFERENCES vibecraft.feedback (id) ON DELETE CASCADE,
    tag         varchar(50) NOT NULL CHECK (tag ~ '^[a-z0-9][a-z0-9_-]*$'),
    created_at  timestamptz NOT NULL DEFAULT now(),
    updated_at  timestamptz NOT NULL DEFAULT now(),
    -- The sender of the feedback (NULL for anonymous feedback), copied from it by
    -- copy_feedback_sender: the policy reads the tag's own row (docs/scale-out.md).
    user_id     uuid REFERENCES vibecraft.users (id) ON DELETE SET NULL,
    UNIQUE (feedback_id, tag),
    -- The key names its feedback: Citus keeps a table apart by it (docs/scale-out.md).
    PRIMARY KEY (id, feedback_id)
);

CREATE INDEX feedback_tags_tag_idx ON vibecraft.feedback_tags (tag);
-- @since 0.2.0
CREATE INDEX feedback_tags_user_id_idx ON vibecraft.feedback_tags (user_id);

-- Daily feedback metrics, computed by maintenance.
CREATE TABLE vibecraft.feedback_analytics (
    id                      uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    period_date             date NOT NULL,
    feedback_type           varchar(50) NOT NULL,
    total_count             integer NOT NULL DEFAULT 0 CHECK (total_count >= 0),
    resolved_count          integer NOT NULL DEFAULT 0 CHECK (resolved_count >= 0),
    average_rating          numeric(3, 2) CHECK (average_rating BETWEEN 1 AND 5),
    avg_response_time_hours numeric(10, 2) CHECK (avg_response_time_hours >= 0),
    created_at              timestamptz NOT NULL DEFAULT now(),
    updated_at              timestamptz NOT NULL DEFAULT now(),
    UNIQUE (period_date, feedback_type)
);

INSERT INTO vibecraft.feedback_categories (name, description, color, sort_order, is_system)
VALUES
    ('bug', 'Something does not work as expected', '#d73a4a', 10, true),
    ('feature_request', 'An idea for something new', '#0e8a16', 20, true),
    ('ux', 'Usability and design', '#1d76db', 30, true),
    ('performance', 'Slowness or resource use', '#fbca04', 40, true),
    ('billing', 'Credits, orders and payments', '#5319e7', 50, true),
    ('other', 'Anything else', '#cccccc', 60, true);

-- Installed rows get the same ids in every database (derived from their names), so
-- that rows referring to them still do after a dump is restored into a fresh install.
-- @since 0.2.0
UPDATE vibecraft.feedback_categories SET id = md5('vibecraft.feedback_categories:' || name)::uuid WHERE is_system;
