//! The `/v1/kling` routes, one module per feature.

pub mod accounts;
pub mod assets;
pub mod common;
pub mod motions;
pub mod scheduler;
pub mod tasks;

use crate::ApiRouter;

pub fn kling_routes() -> ApiRouter {
    let r = ApiRouter::new();
    let r = accounts::routes(r);
    let r = assets::routes(r);
    let r = motions::routes(r);
    let r = tasks::routes(r);
    scheduler::routes(r)
}
