//! ReDoc, a second reader of the OpenAPI document beside Swagger UI, served from the
//! binary (no CDN): the page at `/redoc` and its script.

use actix_web::HttpResponse;
use actix_web::http::header::{CACHE_CONTROL, CONTENT_TYPE};

/// The ReDoc bundle, built into the binary.
const SCRIPT: &[u8] = include_bytes!("../../assets/redoc/redoc.standalone.js");

/// The page: ReDoc reading `/api/openapi.json`.
const PAGE: &str = r#"<!DOCTYPE html>
<html lang="en">
  <head>
    <meta charset="utf-8">
    <meta name="viewport" content="width=device-width, initial-scale=1">
    <title>boxoffice API (ReDoc)</title>
  </head>
  <body>
    <redoc spec-url="/api/openapi.json"></redoc>
    <script src="/redoc/redoc.standalone.js"></script>
  </body>
</html>
"#;

/// `GET /redoc`.
pub async fn page() -> HttpResponse {
    HttpResponse::Ok()
        .insert_header((CONTENT_TYPE, "text/html; charset=utf-8"))
        .body(PAGE)
}

/// `GET /redoc/redoc.standalone.js`; it changes only with the binary.
pub async fn script() -> HttpResponse {
    HttpResponse::Ok()
        .insert_header((CONTENT_TYPE, "application/javascript"))
        .insert_header((CACHE_CONTROL, "public, max-age=3600"))
        .body(SCRIPT)
}
