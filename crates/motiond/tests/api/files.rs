//! §9.1 capability files: headers, Range (206/416), ETag (304), If-Range, HEAD.

use axum::body::Body;
use axum::http::Method;

use crate::helpers::*;

async fn get_with(t: &TestApp, method: Method, path: &str, headers: &[(&str, &str)]) -> Resp {
    let mut b = req(method, path, None);
    for (k, v) in headers {
        b = b.header(*k, *v);
    }
    t.send(b.body(Body::empty()).unwrap()).await
}

#[tokio::test]
async fn files_are_served_with_ranges_and_etags() {
    let t = TestApp::new().await;
    let token = t.token("alice").await;
    t.account(&token, "a@x.io", 2).await;
    let v = t.upload(&token, "a@x.io", "video/mp4", DANCE).await;
    let url = v["resourceUrl"].as_str().unwrap();
    let path = url.strip_prefix(PUBLIC_URL).unwrap();
    let fid = path.split('/').nth(2).unwrap();
    let name = v["fileName"].as_str().unwrap();
    let bytes = read_testdata(DANCE);
    let len = bytes.len();

    // No token needed, and any Authorization header is ignored.
    let full = get_with(
        &t,
        Method::GET,
        path,
        &[("authorization", "Bearer nonsense")],
    )
    .await;
    assert_eq!(full.status, 200);
    assert_eq!(full.body, bytes);
    let etag = format!("\"{fid}\"");
    let expect = [
        ("content-type", "video/mp4".to_owned()),
        ("content-length", len.to_string()),
        ("accept-ranges", "bytes".to_owned()),
        ("etag", etag.clone()),
        ("cache-control", "private, max-age=86400".to_owned()),
        (
            "content-disposition",
            format!("inline; filename=\"{name}\""),
        ),
        ("x-content-type-options", "nosniff".to_owned()),
        (
            "content-security-policy",
            "default-src 'none'; sandbox".to_owned(),
        ),
    ];
    for (h, want) in &expect {
        assert_eq!(full.header(h), Some(want.as_str()), "{h}");
    }
    assert!(full.header("last-modified").unwrap().ends_with(" GMT"));

    let r = get_with(&t, Method::GET, path, &[("range", "bytes=0-9")]).await;
    assert_eq!(
        (r.status.as_u16(), r.header("content-range")),
        (206, Some(format!("bytes 0-9/{len}").as_str()))
    );
    assert_eq!(r.body, bytes[..10]);
    let r = get_with(&t, Method::GET, path, &[("range", "bytes=-5")]).await;
    assert_eq!(
        (r.status.as_u16(), r.body.as_slice()),
        (206, &bytes[len - 5..])
    );
    let r = get_with(
        &t,
        Method::GET,
        path,
        &[("range", &format!("bytes={}-", len - 3))],
    )
    .await;
    assert_eq!(
        (r.status.as_u16(), r.body.as_slice()),
        (206, &bytes[len - 3..])
    );
    let r = get_with(
        &t,
        Method::GET,
        path,
        &[("range", &format!("bytes={len}-"))],
    )
    .await;
    r.assert_error(416, "Range not satisfiable");
    assert_eq!(
        r.header("content-range"),
        Some(format!("bytes */{len}").as_str())
    );
    for ignored in ["bytes=0-1,4-5", "bytes=x-y", "chunks=0-1"] {
        let r = get_with(&t, Method::GET, path, &[("range", ignored)]).await;
        assert_eq!((r.status.as_u16(), r.body.len()), (200, len), "{ignored}");
    }
    let r = get_with(&t, Method::GET, path, &[("if-none-match", &etag)]).await;
    assert_eq!((r.status.as_u16(), r.body.len()), (304, 0));
    assert_eq!(r.header("etag"), Some(etag.as_str()));
    let r = get_with(
        &t,
        Method::GET,
        path,
        &[("range", "bytes=0-9"), ("if-range", "\"other\"")],
    )
    .await;
    assert_eq!((r.status.as_u16(), r.body.len()), (200, len));
    let r = get_with(
        &t,
        Method::GET,
        path,
        &[("range", "bytes=0-9"), ("if-range", &etag)],
    )
    .await;
    assert_eq!(r.status, 206);

    let head = get_with(&t, Method::HEAD, path, &[]).await;
    assert_eq!((head.status.as_u16(), head.body.len()), (200, 0));
    assert_eq!(
        head.header("content-length"),
        Some(len.to_string().as_str())
    );
    assert_eq!(head.header("etag"), Some(etag.as_str()));

    let wrong_name = path.replace(name, "other.mp4");
    t.call(Method::GET, &wrong_name, None)
        .await
        .assert_error(404, "Not found");
    t.call(
        Method::GET,
        "/files/AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA/x.mp4",
        None,
    )
    .await
    .assert_error(404, "Not found");
    t.call(Method::GET, &format!("{path}/"), None)
        .await
        .assert_error(404, "Not found");
}

/// §2.5: while the blob store cannot be reached (its folder moved away for a moment) a file
/// is a 503 with `Retry-After: 5`, never a 500; §2.1: HEAD answers what GET would.
#[tokio::test]
async fn files_are_unavailable_while_the_blob_store_is() {
    let t = TestApp::new().await;
    let token = t.token("alice").await;
    t.account(&token, "a@x.io", 2).await;
    let v = t.upload(&token, "a@x.io", "image/png", PNG).await;
    let path = v["url"].as_str().unwrap().strip_prefix(PUBLIC_URL).unwrap();
    let root = t.app.config.data_dir().join("blobs");
    let away = t.app.config.data_dir().join("blobs-away");
    std::fs::rename(&root, &away).unwrap();
    for method in [Method::GET, Method::HEAD] {
        let r = get_with(&t, method.clone(), path, &[]).await;
        assert_eq!(r.status, 503, "{method}: {}", r.text());
        assert_eq!(r.header("retry-after"), Some("5"), "{method}");
        if method == Method::GET {
            r.assert_error(503, "Service unavailable, retry later");
        }
    }
    std::fs::rename(&away, &root).unwrap();
    for method in [Method::GET, Method::HEAD] {
        let r = get_with(&t, method.clone(), path, &[]).await;
        assert_eq!(r.status, 200, "{method}: {}", r.text());
    }
}
