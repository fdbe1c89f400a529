//! The OpenAPI 3.1 document of `/openapi.json` (contract §10.4), generated from
//! the handlers' annotations and the wire types' schemas.

use utoipa::openapi::OpenApi;

/// The document with `servers` set to `public_url`.
pub fn document(public_url: &str) -> OpenApi {
    let mut doc = OpenApi::default();
    doc.servers = Some(vec![utoipa::openapi::Server::new(public_url)]);
    doc
}
