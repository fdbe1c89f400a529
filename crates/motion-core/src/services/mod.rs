//! Use-case services: what handlers and workers call. Each returns
//! [`crate::error::ServiceError`], whose contract rows motion-api maps to HTTP in one place.
//!
//! | service | used by | does |
//! |---|---|---|
//! | [`accounts::AccountService`] | API | §2.4 selection, §3 create/replace/list/get/delete |
//! | [`assets::AssetService`] | API | §4.1 streamed ingest, §4.2 list, §4.3 delete |
//! | [`motion_upload::MotionUploadService`] | API | §5.1 URL recognition, rules, atomic admission |
//! | [`motions::MotionService`] | API, catalog | §5.2 lists, official upsert |
//! | [`tasks::TaskService`] | API | §6.4–§6.6 get/list/delete, §7.3 cancel |
//! | [`scheduler::SchedulerService`] | API | §7.1, §7.2 |
//! | [`files::FileService`] | API | §9.1 capability lookup and ranged reads |
//! | [`jobs::JobService`] | worker | claim, heartbeat, publish (finish), fail, release, reap |
//! | [`render::UrlBuilder`] | API, worker | capability URLs, envelopes, frozen callback bodies |
//! | [`janitor::purge_trash`] | all | deletes blobs whose rows are gone |

pub mod accounts;
pub mod assets;
pub mod files;
pub mod image_size;
pub mod janitor;
pub mod jobs;
pub mod motion_upload;
pub mod motions;
pub mod render;
pub mod scheduler;
pub mod tasks;
