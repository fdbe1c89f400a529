-- 10,000 finished motions (task + work + its four files) for the account in `seed_params`.
-- Rows match crates/motion-storage/migrations/sqlite; blob keys point nowhere (the listing and
-- task views never read blobs). Run with sqlite3 while the server is stopped.
WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < (SELECT count FROM seed_params))
INSERT INTO tasks (id, account_id, state, wire_status, attempt, progress, create_time, update_time,
                   work_name, source_fid, source_name, source_blob_key, cover_fid, cover_name,
                   cover_blob_key, cover_content_type, source_width, source_height, source_duration_ms)
SELECT p.base_id + i, p.account_id, 'succeeded', 99, 1, 1.0, p.base_time + i, p.base_time + i,
       'bench motion ' || i, lower(hex(randomblob(16))), 'src' || i || '.mp4', 'bench/src/' || i,
       lower(hex(randomblob(16))), 'cover' || i || '.jpg', 'bench/cover/' || i, 'image/jpeg',
       1280, 720, 5000
FROM n, seed_params p;

WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < (SELECT count FROM seed_params))
INSERT INTO works (id, task_id, account_id, name, create_time, preview_fid, cover_fid, bvh_fid, binary_fid)
SELECT p.base_id + i, p.base_id + i, p.account_id, 'bench motion ' || i, p.base_time + i,
       printf('p%031d', i), printf('c%031d', i), printf('b%031d', i), printf('z%031d', i)
FROM n, seed_params p;

INSERT INTO files (fid, owner_kind, owner_id, account_id, role, blob_key, name, content_type, size,
                   sha256, width, height, duration_ms, created_at)
SELECT printf('%s%031d', r.pre, w.id - p.base_id), 'work', CAST(w.id AS TEXT), w.account_id, r.role,
       'bench/' || r.pre || (w.id - p.base_id), r.name, r.ctype, 1000, lower(hex(randomblob(32))),
       r.w, r.h, r.d, w.create_time
FROM works w, seed_params p,
     (SELECT 'preview' AS role, 'p' AS pre, 'preview.mp4' AS name, 'video/mp4' AS ctype, 640 AS w, 360 AS h, 5000 AS d
      UNION ALL SELECT 'cover', 'c', 'cover.jpg', 'image/jpeg', 640, 360, 0
      UNION ALL SELECT 'bvh_zip', 'b', 'bvh.zip', 'application/zip', 0, 0, 0
      UNION ALL SELECT 'binary_zip', 'z', 'binary.zip', 'application/zip', 0, 0, 0) AS r
WHERE w.account_id = p.account_id AND w.id > p.base_id;
