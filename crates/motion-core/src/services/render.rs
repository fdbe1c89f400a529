//! From domain views to the contract's JSON: capability URLs (§2.9), the task envelope
//! (§6.2), works (§6.3), motions (§5.2), assets (§4) and frozen callback bodies (§8.2).
//!
//! URLs are computed at response time from fids, so changing `public_url` changes every
//! URL in later responses. Callback bodies are rendered once, inside the transaction that
//! changes the status ([`EventRenderer`]).

use crate::domain::{Asset, AssetKind, OfficialMotion, StoredFile, TaskView, Work};
use crate::ports::EventRenderer;
use crate::wire;

/// Builds `{public_url}/files/{fid}/{name}` and the wire shapes that contain URLs.
#[derive(Debug, Clone)]
pub struct UrlBuilder {
    public_url: String,
}

impl UrlBuilder {
    /// `public_url` may carry a path prefix; a trailing slash is dropped.
    pub fn new(public_url: &str) -> Self {
        Self {
            public_url: public_url.trim_end_matches('/').to_owned(),
        }
    }

    pub fn public_url(&self) -> &str {
        &self.public_url
    }

    pub fn file_url(&self, fid: &str, name: &str) -> String {
        format!("{}/files/{fid}/{name}", self.public_url)
    }

    fn url_of(&self, f: &StoredFile) -> String {
        self.file_url(&f.fid, &f.name)
    }

    /// §6.2 `taskInfo` of a task: its source and cover URLs as they were at submission.
    pub fn task_info(&self, view: &TaskView) -> wire::TaskInfo {
        let i = &view.task.input;
        wire::TaskInfo::motion(
            self.file_url(&i.source_fid, &i.source_name),
            self.file_url(&i.cover_fid, &i.cover_name),
        )
    }

    /// §6.3 the work object.
    pub fn work(&self, view: &TaskView, work: &Work) -> wire::Work {
        wire::Work::succeeded(
            work.id,
            work.task_id,
            view.task.account_id,
            wire::Resource::new(
                self.url_of(&work.preview),
                work.preview.width,
                work.preview.height,
                work.preview.duration_ms,
            ),
            wire::Resource::new(
                self.url_of(&work.cover),
                work.cover.width,
                work.cover.height,
                0,
            ),
            work.create_time,
            self.task_info(view),
            self.ext_data(&work.binary_zip, &work.bvh_zip),
        )
    }

    fn ext_data(&self, binary: &StoredFile, bvh: &StoredFile) -> wire::ExtData {
        wire::ExtData {
            output_binary: self.url_of(binary),
            bvh_binary: self.url_of(bvh),
        }
    }

    /// §6.2 the task envelope.
    pub fn envelope(&self, view: &TaskView) -> wire::TaskEnvelope {
        let t = &view.task;
        let status = t.wire_status;
        let work = match (&view.work, status) {
            (Some(w), wire::WireStatus::Succeed) => Some(self.work(view, w)),
            _ => None,
        };
        wire::TaskEnvelope::build(wire::EnvelopeParts {
            task_id: t.id,
            user_id: t.account_id,
            status,
            message: view.message(),
            task_info: self.task_info(view),
            create_time: t.create_time,
            update_time: t.update_time,
            work,
            limit: view.max_jobs,
            unfinished: view.unfinished,
        })
    }

    /// §8.2 the callback body: the envelope plus `replyRef` last, when given.
    pub fn callback_body(&self, view: &TaskView) -> Vec<u8> {
        let body = wire::CallbackBody {
            envelope: self.envelope(view),
            reply_ref: view.task.reply_ref.clone(),
        };
        serde_json::to_vec(&body).unwrap_or_default()
    }

    /// §5.2 a user motion.
    pub fn user_motion(&self, work: &Work) -> wire::UserMotion {
        wire::UserMotion {
            work_name: work.name.clone(),
            work_id: work.id,
            task_id: work.task_id,
            official: false,
            resource: wire::ResourceUrl {
                resource: self.url_of(&work.preview),
            },
            cover: wire::ResourceUrl {
                resource: self.url_of(&work.cover),
            },
            ext_data: self.ext_data(&work.binary_zip, &work.bvh_zip),
        }
    }

    /// §5.2 an official motion.
    pub fn official_motion(&self, m: &OfficialMotion) -> wire::OfficialMotion {
        wire::OfficialMotion {
            work_name: m.name.clone(),
            work_id: m.work_id,
            official: true,
            tag: m.tag.clone(),
            resource: wire::ResourceUrl {
                resource: self.url_of(&m.preview),
            },
            cover: wire::ResourceUrl {
                resource: self.url_of(&m.cover),
            },
            ext_data: self.ext_data(&m.binary_zip, &m.bvh_zip),
        }
    }

    /// §4.2 one uploaded asset.
    pub fn uploaded_asset(&self, a: &Asset) -> wire::UploadedAsset {
        let resource =
            wire::Resource::new(self.url_of(&a.original), a.width, a.height, a.duration_ms);
        let cover = match &a.cover {
            Some(c) => wire::Resource::new(self.url_of(c), c.width, c.height, 0),
            None => wire::Resource::image_cover_placeholder(),
        };
        wire::UploadedAsset::new(
            a.id.clone(),
            a.name.clone(),
            a.account_id,
            a.kind.as_str().to_owned(),
            resource,
            cover,
            a.create_time,
        )
    }

    /// The URLs of an upload response (§4.1): `(url or resourceUrl, coverUrl)`.
    pub fn upload_urls(&self, a: &Asset) -> (String, Option<String>) {
        let main = self.url_of(&a.original);
        match a.kind {
            AssetKind::Image => (main, None),
            AssetKind::Video => (main, a.cover.as_ref().map(|c| self.url_of(c))),
        }
    }
}

impl EventRenderer for UrlBuilder {
    fn render(&self, view: &TaskView) -> Vec<u8> {
        self.callback_body(view)
    }
}
