//! §4 assets: raw-body upload, list, delete.

use std::io;
use std::time::Duration;

use axum::Json;
use axum::body::Body;
use axum::extract::{RawQuery, State};
use axum::http::{HeaderMap, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use futures::StreamExt;
use motion_core::domain::{AssetKind, AssetQuery, User};
use motion_core::error::{ErrorCode, ServiceError};
use motion_core::params::{Params, in_range};
use motion_core::services::assets::upload_type;
use motion_core::wire;
use tokio::io::AsyncRead;
use tokio_util::io::StreamReader;

use super::common::select_account;
use crate::auth::AuthUser;
use crate::body::{content_length, query_params};
use crate::error::{ApiError, ApiResult};
use crate::{Api, ApiRouter, route2};

pub fn routes(r: ApiRouter) -> ApiRouter {
    let r = route2(r, "/v1/kling/assets", post(upload_asset));
    route2(
        r,
        "/v1/kling/assets/uploaded",
        get(list_uploaded_assets).delete(delete_uploaded_assets),
    )
}

/// The request body as a reader whose read fails with `TimedOut` when no byte comes
/// for `idle`, and with `ConnectionAborted` when the client breaks the body off (closes the
/// connection mid-upload); the service answers both with the 408 row, as `read_limited`.
fn idle_reader(body: Body, idle: Duration) -> impl AsyncRead + Unpin + Send {
    let frames = body.into_data_stream();
    let stream = futures::stream::unfold(frames, move |mut frames| async move {
        let item = match tokio::time::timeout(idle, frames.next()).await {
            Err(_) => Err(io::Error::new(io::ErrorKind::TimedOut, "request body idle")),
            Ok(None) => return None,
            Ok(Some(Ok(bytes))) => Ok(bytes),
            Ok(Some(Err(e))) => Err(io::Error::new(io::ErrorKind::ConnectionAborted, e)),
        };
        Some((item, frames))
    });
    StreamReader::new(Box::pin(stream))
}

/// `POST /assets?email=…` (§4.1): the body is the raw file, streamed to disk by the service.
#[utoipa::path(
    post, path = "/v1/kling/assets", operation_id = "uploadAsset", tag = "assets", security(("bearer" = [])),
    params(("email" = Option<String>, Query, description = "account selection (§2.4)")),
    request_body(content((crate::openapi::Binary = "image/png"), (crate::openapi::Binary = "image/jpeg"), (crate::openapi::Binary = "video/mp4"), (crate::openapi::Binary = "video/quicktime"))),
    responses(
        (status = 200, description = "stored", body = wire::Uploaded),
        (status = 400, description = "invalid input", body = wire::ErrorBody),
        (status = 401, description = "authentication failed", body = wire::ErrorBody),
        (status = 404, description = "not found", body = wire::ErrorBody),
        (status = 408, description = "body timeout", body = wire::ErrorBody),
        (status = 413, description = "body too large", body = wire::ErrorBody),
        (status = 429, description = "rate limit", body = wire::ErrorBody),
        (status = 500, description = "internal error", body = wire::ErrorBody),
        (status = 503, description = "storage unavailable", body = wire::ErrorBody)
    )
)]
pub async fn upload_asset(
    State(api): State<Api>,
    AuthUser(user): AuthUser,
    RawQuery(query): RawQuery,
    headers: HeaderMap,
    body: Body,
) -> Response {
    match store_upload(api, user, query, headers, body).await {
        Ok(uploaded) => uploaded.into_response(),
        // A rejected upload may leave most of its raw body unread (account selection and the
        // type checks answer before reading it): close the connection, so that a client still
        // sending does not see its next request on this connection fail with a broken pipe.
        Err(e) => ([(header::CONNECTION, "close")], e).into_response(),
    }
}

async fn store_upload(
    api: Api,
    user: User,
    query: Option<String>,
    headers: HeaderMap,
    body: Body,
) -> ApiResult<Json<wire::Uploaded>> {
    let q = query_params(query.as_deref(), &["email"])?;
    let account = select_account(&api, &user, &q).await?;
    let content_type = headers
        .get(header::CONTENT_TYPE)
        .map(|v| String::from_utf8_lossy(v.as_bytes()).into_owned());
    let kind = upload_type(content_type.as_deref())
        .map(|t| t.kind.as_str())
        .unwrap_or("video");
    let mut reader = idle_reader(body, api.settings.body_idle_timeout);
    let result = api
        .app
        .assets
        .upload(
            &account,
            content_type.as_deref(),
            content_length(&headers),
            &mut reader,
        )
        .await;
    count_upload(kind, &result);
    let asset = result?;
    let (url, cover) = api.app.urls.upload_urls(&asset);
    Ok(Json(match (asset.kind, cover) {
        (AssetKind::Video, Some(cover)) => {
            wire::Uploaded::Video(wire::VideoUploaded::new(url, cover, asset.name))
        }
        _ => wire::Uploaded::Image(wire::ImageUploaded::new(url, asset.name)),
    }))
}

fn count_upload(kind: &'static str, result: &Result<motion_core::domain::Asset, ServiceError>) {
    let outcome = match result {
        Ok(asset) => {
            metrics::counter!("motiond_upload_bytes_total").increment(asset.original.size);
            "ok"
        }
        Err(e) if e.code().status() == 413 => "too_large",
        Err(_) => "rejected",
    };
    metrics::counter!("motiond_uploads_total", "kind" => kind, "outcome" => outcome).increment(1);
}

const LIST_FIELDS: &[&str] = &[
    "email",
    "pageNum",
    "pageSize",
    "contentType",
    "fileName",
    "sort",
];

/// §4.2 parameters; every failure is `Invalid parameters`. `None` kind with
/// `contentType=audio` means an empty list.
fn asset_query(q: &Params) -> Result<(AssetQuery, bool), ErrorCode> {
    let bad = || ErrorCode::InvalidParameters;
    let int = |name: &str, default: i64, hi: i64| -> Result<i64, ErrorCode> {
        let v = q
            .integer(name, bad())
            .map_err(|_| bad())?
            .unwrap_or(default);
        in_range(v, 1, hi, bad())
    };
    let page_num = int("pageNum", 1, 1_000_000)?;
    let page_size = int("pageSize", 20, 100)?;
    let (kind, audio) = match q.string("contentType").map_err(|_| bad())?.as_deref() {
        None => (None, false),
        Some("video") => (Some(AssetKind::Video), false),
        Some("image") => (Some(AssetKind::Image), false),
        Some("audio") => (None, true),
        Some(_) => return Err(bad()),
    };
    let name_contains = q.string("fileName").map_err(|_| bad())?;
    if name_contains
        .as_ref()
        .is_some_and(|n| n.chars().count() > 200)
    {
        return Err(bad());
    }
    let ascending = match q.string("sort").map_err(|_| bad())?.as_deref() {
        None | Some("desc") => false,
        Some("asc") => true,
        Some(_) => return Err(bad()),
    };
    let query = AssetQuery {
        page_num: page_num as u32,
        page_size: page_size as u32,
        kind,
        name_contains,
        ascending,
    };
    Ok((query, audio))
}

/// §4.2 duplicates: `email` has its own row, the others are `Invalid parameters`.
fn list_query(raw: Option<&str>) -> Result<Params, ErrorCode> {
    let q = query_params(raw, &["email"])?;
    q.check_duplicates(LIST_FIELDS)
        .map_err(|_| ErrorCode::InvalidParameters)?;
    Ok(q)
}

/// `GET /assets/uploaded` (§4.2).
#[utoipa::path(
    get, path = "/v1/kling/assets/uploaded", operation_id = "listUploadedAssets", tag = "assets", security(("bearer" = [])),
    params(("email" = Option<String>, Query, description = "account selection (§2.4)"),
        ("pageNum" = Option<i64>, Query, minimum = 1, maximum = 1000000),
        ("pageSize" = Option<i64>, Query, minimum = 1, maximum = 100),
        ("contentType" = Option<String>, Query, description = "video, image or audio"),
        ("fileName" = Option<String>, Query),
        ("sort" = Option<String>, Query, description = "asc or desc")),
    responses(
        (status = 200, description = "one page", body = wire::UploadAssetsList),
        (status = 400, description = "invalid input", body = wire::ErrorBody),
        (status = 401, description = "authentication failed", body = wire::ErrorBody),
        (status = 404, description = "not found", body = wire::ErrorBody),
        (status = 429, description = "rate limit", body = wire::ErrorBody),
        (status = 500, description = "internal error", body = wire::ErrorBody),
        (status = 503, description = "storage unavailable", body = wire::ErrorBody)
    )
)]
pub async fn list_uploaded_assets(
    State(api): State<Api>,
    AuthUser(user): AuthUser,
    RawQuery(query): RawQuery,
) -> ApiResult<Json<wire::UploadAssetsList>> {
    let q = list_query(query.as_deref())?;
    let account = select_account(&api, &user, &q).await?;
    let (query, audio) = asset_query(&q)?;
    let assets = if audio {
        Vec::new()
    } else {
        api.app.assets.list(&account, &query).await?
    };
    let list = assets
        .iter()
        .map(|a| api.app.urls.uploaded_asset(a))
        .collect();
    Ok(Json(wire::UploadAssetsList {
        upload_assets_list: list,
    }))
}

/// §4.3 `id`: 1..10 comma-separated `^[0-9]{1,19}$` items, deduplicated in order.
fn asset_ids(q: &Params) -> Result<Vec<String>, ErrorCode> {
    let raw = q
        .string("id")?
        .ok_or_else(|| ErrorCode::ParamRequired { name: "id".into() })?;
    let items: Vec<&str> = raw.split(',').collect();
    let valid = items.len() <= 10
        && items
            .iter()
            .all(|i| (1..=19).contains(&i.len()) && i.bytes().all(|b| b.is_ascii_digit()));
    if !valid {
        return Err(ErrorCode::AssetIdsInvalid { value: raw.clone() });
    }
    let mut ids: Vec<String> = Vec::new();
    for item in items {
        if !ids.iter().any(|i| i == item) {
            ids.push(item.to_owned());
        }
    }
    Ok(ids)
}

/// `DELETE /assets/uploaded?id=…` (§4.3).
#[utoipa::path(
    delete, path = "/v1/kling/assets/uploaded", operation_id = "deleteUploadedAssets", tag = "assets", security(("bearer" = [])),
    params(("email" = Option<String>, Query, description = "account selection (§2.4)"), ("id" = String, Query, description = "1 to 10 comma-separated numeric ids")),
    responses(
        (status = 200, description = "deleted", body = wire::AssetsDeleted),
        (status = 400, description = "invalid input", body = wire::ErrorBody),
        (status = 401, description = "authentication failed", body = wire::ErrorBody),
        (status = 404, description = "not found", body = wire::ErrorBody),
        (status = 429, description = "rate limit", body = wire::ErrorBody),
        (status = 500, description = "internal error", body = wire::ErrorBody),
        (status = 503, description = "storage unavailable", body = wire::ErrorBody)
    )
)]
pub async fn delete_uploaded_assets(
    State(api): State<Api>,
    AuthUser(user): AuthUser,
    RawQuery(query): RawQuery,
) -> ApiResult<Json<wire::AssetsDeleted>> {
    let q = query_params(query.as_deref(), &["email", "id"])?;
    let account = select_account(&api, &user, &q).await?;
    let ids = asset_ids(&q)?;
    let deleted = api
        .app
        .assets
        .delete(&account, &ids)
        .await
        .map_err(ApiError::from)?;
    Ok(Json(wire::AssetsDeleted {
        deleted: deleted.len() as u32,
        ids: deleted,
    }))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn q(s: &str) -> Params {
        Params::from_urlencoded(s.as_bytes())
    }

    #[test]
    fn asset_id_lists() {
        assert_eq!(asset_ids(&q("id=1,2,1")), Ok(vec!["1".into(), "2".into()]));
        assert_eq!(
            asset_ids(&q("")),
            Err(ErrorCode::ParamRequired { name: "id".into() })
        );
        assert_eq!(
            asset_ids(&q("id=")),
            Err(ErrorCode::ParamRequired { name: "id".into() })
        );
        for bad in [
            "1,,2",
            "1, 2",
            "a",
            "12345678901234567890",
            "1,2,3,4,5,6,7,8,9,10,11",
            ",",
        ] {
            let raw = bad.replace(' ', "+");
            assert_eq!(
                asset_ids(&q(&format!("id={raw}"))),
                Err(ErrorCode::AssetIdsInvalid { value: bad.into() }),
                "{bad}"
            );
        }
    }

    #[test]
    fn list_parameters() {
        let (query, audio) = asset_query(&q("")).unwrap();
        assert_eq!(
            (query.page_num, query.page_size, query.ascending, audio),
            (1, 20, false, false)
        );
        assert!(asset_query(&q("contentType=audio")).unwrap().1);
        for bad in [
            "pageNum=0",
            "pageSize=101",
            "contentType=text",
            "sort=up",
            "pageNum=x",
        ] {
            assert_eq!(
                asset_query(&q(bad)).map(|_| ()),
                Err(ErrorCode::InvalidParameters),
                "{bad}"
            );
        }
        assert_eq!(
            list_query(Some("sort=asc&sort=desc")).map(|_| ()),
            Err(ErrorCode::InvalidParameters)
        );
        assert_eq!(
            list_query(Some("email=a&email=b")).map(|_| ()),
            Err(ErrorCode::ParamDuplicate {
                name: "email".into()
            })
        );
    }
}
