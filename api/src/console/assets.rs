//! The console's one stylesheet and one script, compiled into the binary and served under
//! names carrying their content hash, so browsers may keep them for a year.

use std::sync::LazyLock;

use actix_web::http::header;
use actix_web::{HttpRequest, HttpResponse};
use sha2::{Digest, Sha256};

/// A file served as it is, under a name that changes when its content does.
pub struct Asset {
    pub url: String,
    etag: String,
    bytes: &'static [u8],
    media_type: &'static str,
}

impl Asset {
    fn new(stem: &str, ext: &str, bytes: &'static [u8], media_type: &'static str) -> Asset {
        let hash = hex::encode(&Sha256::digest(bytes)[..8]);
        Asset {
            url: format!("/assets/{stem}.{hash}.{ext}"),
            etag: format!("\"{hash}\""),
            bytes,
            media_type,
        }
    }
}

pub static CSS: LazyLock<Asset> = LazyLock::new(|| {
    Asset::new(
        "console",
        "css",
        include_bytes!("../../assets/console.css"),
        "text/css; charset=utf-8",
    )
});

/// htmx 2 from npm's `htmx.org` (version and SHA-256 in `assets/htmx.min.js.txt`).
pub static HTMX: LazyLock<Asset> = LazyLock::new(|| {
    Asset::new(
        "htmx",
        "js",
        include_bytes!("../../assets/htmx.min.js"),
        "text/javascript; charset=utf-8",
    )
});

/// `GET /assets/{name}`: the stylesheet or the script, cached for good (the name holds
/// the content's hash).
pub async fn serve(req: HttpRequest) -> HttpResponse {
    let Some(asset) = [&*CSS, &*HTMX].into_iter().find(|a| a.url == req.path()) else {
        return HttpResponse::NotFound().finish();
    };
    let fresh = req
        .headers()
        .get(header::IF_NONE_MATCH)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.split(',').any(|t| t.trim() == asset.etag));
    let mut res = if fresh {
        HttpResponse::NotModified()
    } else {
        HttpResponse::Ok()
    };
    res.insert_header((header::ETAG, asset.etag.clone()))
        .insert_header((header::CACHE_CONTROL, "public, max-age=31536000, immutable"))
        .insert_header((header::X_CONTENT_TYPE_OPTIONS, "nosniff"));
    if fresh {
        return res.finish();
    }
    res.content_type(asset.media_type).body(asset.bytes)
}
