-- Storage: buckets with size and MIME limits, project assets (audio_recordings), signed URLs (src/storage.rs).
-- Created once, at install: later versions change what is here only through
-- hand-written steps in sql/migrations/ (this file holds the current shape).

-- Storage buckets with size and MIME limits (Supabase Storage's model).
CREATE TABLE vibecraft.storage_buckets (
    id                 uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    name               varchar(63) NOT NULL UNIQUE CHECK (name ~ '^[a-z0-9][a-z0-9._-]*$'),
    public             boolean NOT NULL DEFAULT false,
    file_size_limit    bigint CHECK (file_size_limit > 0),
    allowed_mime_types text[],
    is_system          boolean NOT NULL DEFAULT false,
    created_at         timestamptz NOT NULL DEFAULT now(),
    updated_at         timestamptz NOT NULL DEFAULT now()
);

-- Files and media; Visual Prompt Builder's audio_recordings is the audio subset.
CREATE TABLE vibecraft.project_assets (
    id               uuid NOT NULL DEFAULT gen_random_uuid(),
    project_id       uuid NOT NULL REFERENCES vibecraft.projects (id) ON DELETE CASCADE,
    user_id          uuid NOT NULL REFERENCES vibecraft.users (id) ON DELETE CASCADE,
    bucket_id        uuid REFERENCES vibecraft.storage_buckets (id) ON DELETE RESTRICT,
    asset_type       varchar(20) NOT NULL DEFAULT 'file'
                     CHECK (asset_type IN ('image', 'audio', 'video', 'document', 'file')),
    file_name        varchar(255) NOT NULL,
    file_path        text NOT NULL,
    file_size        bigint NOT NULL DEFAULT 0 CHECK (file_size >= 0),
    mime_type        varchar(127),
    duration_seconds numeric(10, 3) CHECK (duration_seconds >= 0),
    transcription    text,
    metadata         jsonb NOT NULL DEFAULT '{}',
    created_at       timestamptz NOT NULL DEFAULT now(),
    updated_at       timestamptz NOT NULL DEFAULT now(),
    -- The keys name the project: Citus keeps a table apart by it (docs/scale-out.md). A
    -- path is recorded once per project; it starts with its uploader's id (a trigger
    -- checks), so only the uploader can record one file in two projects.
    PRIMARY KEY (id, project_id),
    UNIQUE (bucket_id, file_path, project_id)
);

CREATE INDEX project_assets_project_id_idx ON vibecraft.project_assets (project_id, asset_type);
CREATE INDEX project_assets_user_id_idx ON vibecraft.project_assets (user_id);
CREATE INDEX project_assets_bucket_id_idx ON vibecraft.project_assets (bucket_id);

INSERT INTO vibecraft.storage_buckets (name, public, file_size_limit, allowed_mime_types, is_system)
VALUES
    ('avatars', true, 2 * 1024 * 1024, ARRAY['image/png', 'image/jpeg', 'image/webp', 'image/gif'], true),
    ('project-assets', false, 50 * 1024 * 1024, NULL, true),
    ('audio-recordings', false, 100 * 1024 * 1024,
     ARRAY['audio/mpeg', 'audio/wav', 'audio/webm', 'audio/ogg', 'audio/mp4', 'audio/x-m4a'], true),
    ('exports', false, 500 * 1024 * 1024, ARRAY['application/zip', 'application/json', 'text/csv', 'application/pdf'], true);

-- Installed rows get the same ids in every database (derived from their names), so
-- that rows referring to them still do after a dump is restored into a fresh install.
-- @since 0.2.0
UPDATE vibecraft.storage_buckets SET id = md5('vibecraft.storage_buckets:' || name)::uuid WHERE is_system;
