//! The OpenAPI 3.1 document of `/openapi.json` (contract §10.4), generated from
//! the handlers' `#[utoipa::path]` annotations and the wire types' schemas.
//! Only the parts utoipa's attributes cannot express (servers, the bearer
//! scheme, the stateful-fuzzing links) are added here in code.

use std::collections::BTreeMap;

use motion_core::wire;
use serde::Serialize;
use utoipa::openapi::link::Link;
use utoipa::openapi::security::{Http, HttpAuthScheme, SecurityScheme};
use utoipa::openapi::{OpenApi as Document, RefOr, Server};
use utoipa::{OpenApi, ToSchema};

/// Body fields of `POST /accounts` (JSON, multipart text parts or form).
#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
#[allow(dead_code)]
pub struct AccountForm {
    pub email: String,
    #[schema(minimum = 1, maximum = 50)]
    pub max_jobs: i64,
    /// Accepted and ignored.
    pub password: Option<String>,
    /// Default callback URL of the account's tasks.
    pub reply_url: Option<String>,
}

/// Body fields of `POST /videos/motion-upload`.
#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
#[allow(dead_code)]
pub struct MotionUploadForm {
    /// Required only when the user has two or more accounts.
    pub email: Option<String>,
    pub resource_url: String,
    pub cover_url: String,
    #[schema(minimum = 1, maximum = 50)]
    pub max_jobs: Option<i64>,
    pub reply_url: Option<String>,
    pub reply_ref: Option<String>,
    pub work_name: Option<String>,
}

/// One item of `GET /videos/motions`: an official or a user motion.
#[derive(Serialize, ToSchema)]
#[serde(untagged)]
#[allow(dead_code)]
pub enum MotionItem {
    Official(wire::OfficialMotion),
    User(wire::UserMotion),
}

/// Raw file bytes (uploads and downloads): `{"type":"string","format":"binary"}`.
pub struct Binary;

impl utoipa::PartialSchema for Binary {
    fn schema() -> RefOr<utoipa::openapi::schema::Schema> {
        use utoipa::openapi::schema::{KnownFormat, ObjectBuilder, SchemaFormat, Type};
        ObjectBuilder::new()
            .schema_type(Type::String)
            .format(Some(SchemaFormat::KnownFormat(KnownFormat::Binary)))
            .into()
    }
}

impl ToSchema for Binary {}

/// `GET /accounts`: accounts keyed by email.
pub type AccountMapDoc = BTreeMap<String, wire::Account>;

#[derive(OpenApi)]
#[openapi(
    info(
        title = "motiond",
        description = "Kling-compatible motion-capture API (api-contract.md)"
    ),
    paths(
        crate::routes::accounts::create_account,
        crate::routes::accounts::list_accounts,
        crate::routes::accounts::get_account,
        crate::routes::accounts::delete_account,
        crate::routes::assets::upload_asset,
        crate::routes::assets::list_uploaded_assets,
        crate::routes::assets::delete_uploaded_assets,
        crate::routes::motions::motion_upload,
        crate::routes::motions::list_motions,
        crate::routes::motions::motion_create,
        crate::routes::tasks::get_task,
        crate::routes::tasks::list_tasks,
        crate::routes::tasks::delete_task,
        crate::routes::scheduler::list_scheduler,
        crate::routes::scheduler::scheduler_available,
        crate::routes::scheduler::cancel_task,
        crate::files::get_file,
        crate::ops::healthz,
        crate::ops::readyz,
    ),
    components(schemas(wire::ErrorBody, AccountForm, MotionUploadForm, MotionItem))
)]
struct ApiDoc;

/// The document with `servers` set to `public_url`.
pub fn document(public_url: &str) -> Document {
    let mut doc = ApiDoc::openapi();
    doc.info.version = env!("CARGO_PKG_VERSION").to_owned();
    doc.servers = Some(vec![Server::new(public_url)]);
    let components = doc.components.get_or_insert_with(Default::default);
    components.add_security_scheme(
        "bearer",
        SecurityScheme::Http(Http::new(HttpAuthScheme::Bearer)),
    );
    add_task_links(&mut doc);
    doc
}

/// The document as served. utoipa 5 serializes `Link.operation_id` as `operation_id`, which
/// OpenAPI does not know: schemathesis (scripts/schemathesis.sh) rejected both links ("missing
/// both operationRef and operationId") and skipped its stateful phase. Renamed here, on the
/// served JSON, so the links name their target operation.
pub fn document_json(public_url: &str) -> serde_json::Value {
    let mut doc = serde_json::to_value(document(public_url)).unwrap_or_default();
    let links = doc
        .pointer_mut("/paths/~1v1~1kling~1videos~1motion-upload/post/responses/200/links")
        .and_then(|l| l.as_object_mut());
    for link in links.into_iter().flat_map(|l| l.values_mut()) {
        let Some(link) = link.as_object_mut() else {
            continue;
        };
        if let Some(id) = link.remove("operation_id") {
            link.insert("operationId".to_owned(), id);
        }
    }
    doc
}

/// `links` from motionUpload's 200 to getTask and deleteTask (stateful fuzzing).
fn add_task_links(doc: &mut Document) {
    let Some(op) = doc
        .paths
        .paths
        .get_mut("/v1/kling/videos/motion-upload")
        .and_then(|p| p.post.as_mut())
    else {
        return;
    };
    let Some(RefOr::T(ok)) = op.responses.responses.get_mut("200") else {
        return;
    };
    for target in ["getTask", "deleteTask"] {
        let link = Link::builder()
            .operation_id(target)
            .parameter("task_id", "$response.body#/task/id")
            .build();
        ok.links.insert(target.to_owned(), RefOr::T(link));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn document_has_the_contract_operations() {
        let doc = serde_json::to_value(document("http://127.0.0.1:8080")).unwrap();
        assert_eq!(doc["openapi"], "3.1.0");
        assert_eq!(doc["servers"][0]["url"], "http://127.0.0.1:8080");
        let mut ids = Vec::new();
        for (path, item) in doc["paths"].as_object().unwrap() {
            for (method, op) in item.as_object().unwrap() {
                let id = op["operationId"].as_str().unwrap().to_owned();
                let secured = op.get("security").is_some();
                assert_eq!(
                    secured,
                    path.starts_with("/v1/kling"),
                    "{method} {path} security"
                );
                ids.push(id);
            }
        }
        ids.sort();
        let mut want = vec![
            "createAccount",
            "listAccounts",
            "getAccount",
            "deleteAccount",
            "uploadAsset",
            "listUploadedAssets",
            "deleteUploadedAssets",
            "motionUpload",
            "listMotions",
            "motionCreate",
            "getTask",
            "listTasks",
            "deleteTask",
            "listScheduler",
            "getSchedulerAvailable",
            "cancelSchedulerTask",
            "getFile",
            "healthz",
            "readyz",
        ];
        want.sort();
        assert_eq!(ids, want);
        let links =
            &doc["paths"]["/v1/kling/videos/motion-upload"]["post"]["responses"]["200"]["links"];
        assert_eq!(
            links["getTask"]["parameters"]["task_id"],
            "$response.body#/task/id"
        );
        assert_eq!(
            doc["components"]["securitySchemes"]["bearer"]["scheme"],
            "bearer"
        );
        assert_eq!(
            doc["components"]["schemas"]["ErrorBody"]["required"],
            serde_json::json!(["error"])
        );
    }

    #[test]
    fn served_links_name_their_operation_id() {
        let doc = document_json("http://127.0.0.1:8080");
        let links =
            &doc["paths"]["/v1/kling/videos/motion-upload"]["post"]["responses"]["200"]["links"];
        for target in ["getTask", "deleteTask"] {
            assert_eq!(links[target]["operationId"], target, "{links}");
            assert!(links[target].get("operation_id").is_none(), "{links}");
        }
    }

    /// The whole document, so that any change to the published API is reviewed.
    #[test]
    fn document_snapshot() {
        insta::assert_json_snapshot!("openapi", document("http://127.0.0.1:8080"));
    }
}
