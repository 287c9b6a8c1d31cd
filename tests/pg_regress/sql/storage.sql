-- Storage: assets are checked against their bucket by the database; signed URLs verify
-- until they expire and fail once altered.
SET client_min_messages = warning;
CREATE EXTENSION IF NOT EXISTS vibecraft CASCADE;
SELECT vibecraft.seed_demo_data() IS NOT NULL AS seeded;
\set mia '''d1000000-0000-4000-8000-000000000003'''
\set podcast '''d2000000-0000-4000-8000-000000000002'''

-- Within the audio bucket's rules: accepted.
INSERT INTO vibecraft.audio_recordings (project_id, user_id, file_name, file_path, file_size, mime_type)
VALUES (:podcast, :mia, 'ep2.mp3', 'd1000000-0000-4000-8000-000000000003/ep2.mp3', 1000, 'audio/mpeg');
SELECT b.name AS bucket FROM vibecraft.project_assets a JOIN vibecraft.storage_buckets b ON b.id = a.bucket_id
 WHERE a.file_name = 'ep2.mp3';

-- Against them: a clear 23514 each.
\set VERBOSITY terse
INSERT INTO vibecraft.audio_recordings (project_id, user_id, file_name, file_path, file_size, mime_type)
VALUES (:podcast, :mia, 'big.mp3', 'd1000000-0000-4000-8000-000000000003/big.mp3', 200 * 1024 * 1024, 'audio/mpeg');
INSERT INTO vibecraft.audio_recordings (project_id, user_id, file_name, file_path, file_size, mime_type)
VALUES (:podcast, :mia, 'ep.exe', 'd1000000-0000-4000-8000-000000000003/ep.exe', 1000, 'application/x-msdownload');
INSERT INTO vibecraft.audio_recordings (project_id, user_id, file_name, file_path, file_size, mime_type)
VALUES (:podcast, :mia, 'x.mp3', 'd1000000-0000-4000-8000-000000000002/x.mp3', 1000, 'audio/mpeg');
INSERT INTO vibecraft.audio_recordings (project_id, user_id, file_name, file_path, file_size, mime_type)
VALUES (:podcast, :mia, 'x.mp3', 'd1000000-0000-4000-8000-000000000003/../d1000000-0000-4000-8000-000000000002/x.mp3', 1000, 'audio/mpeg');
UPDATE vibecraft.project_assets SET file_size = 500 * 1024 * 1024 WHERE file_name = 'ep2.mp3';
\set VERBOSITY default

-- Signed URLs: the round trip works; any altered part, or expiry, fails.
SELECT vibecraft.sign_url('audio-recordings', 'd1000000-0000-4000-8000-000000000003/ep2.mp3') AS url \gset
SELECT :'url' LIKE '/storage/v1/object/sign/audio-recordings/d1000000-0000-4000-8000-000000000003/ep2.mp3?expires=%&sig=%' AS looks_right,
       vibecraft.verify_signed_url(:'url') AS verifies,
       vibecraft.verify_signed_url(replace(:'url', 'ep2.mp3', 'ep3.mp3')) AS other_path,
       vibecraft.verify_signed_url(regexp_replace(:'url', 'expires=(\d+)', 'expires=9\1')) AS later_expiry,
       vibecraft.verify_signed_url(left(:'url', -1) || CASE WHEN right(:'url', 1) = 'A' THEN 'B' ELSE 'A' END) AS flipped_signature,
       vibecraft.verify_signed_url('https://cdn.example.com' || :'url') AS behind_a_host,
       vibecraft.verify_signed_url('not a url') AS garbage,
       vibecraft.verify_signed_url(NULL) AS null_url;
SELECT vibecraft.sign_url('audio-recordings', 'd1000000-0000-4000-8000-000000000003/ep2.mp3', '1 second') AS short_url \gset
SELECT vibecraft.verify_signed_url(:'short_url') AS before_expiry;
-- (valid for at least the second asked for, and less than a second more)
SELECT pg_sleep(2.1);
SELECT vibecraft.verify_signed_url(:'short_url') AS after_expiry;
-- Only objects that exist (and the caller may read) are signed; limits on expiry.
\set VERBOSITY terse
SELECT vibecraft.sign_url('audio-recordings', 'd1000000-0000-4000-8000-000000000003/missing.mp3');
SELECT vibecraft.sign_url('audio-recordings', 'd1000000-0000-4000-8000-000000000003/ep2.mp3', '30 days');
SELECT vibecraft.sign_url('audio-recordings', 'd1000000-0000-4000-8000-000000000003/ep2.mp3', '-1 hour');
\set VERBOSITY default
-- A public bucket's objects can be signed by path.
SELECT vibecraft.verify_signed_url(vibecraft.sign_url('avatars', 'd1000000-0000-4000-8000-000000000003/me.png')) AS public_bucket;
