//! Stylesheets, scripts and icons, embedded in the binary and served under
//! names that carry a hash of their content: a new release changes the name,
//! so browsers may keep each file for a year without ever asking again.

use std::sync::LazyLock;

use actix_web::http::header;
use actix_web::{HttpResponse, web};
use sha2::{Digest, Sha256};

struct Embedded {
    /// The name templates use.
    name: &'static str,
    bytes: &'static [u8],
    content_type: &'static str,
}

const CSS: &str = "text/css; charset=utf-8";
const JS: &str = "text/javascript; charset=utf-8";

const EMBEDDED: &[Embedded] = &[
    Embedded {
        name: "modern-normalize.css",
        bytes: include_bytes!("../assets/vendor/modern-normalize.css"),
        content_type: CSS,
    },
    Embedded {
        name: "uPlot.min.css",
        bytes: include_bytes!("../assets/vendor/uPlot.min.css"),
        content_type: CSS,
    },
    Embedded {
        name: "dashboard.css",
        bytes: include_bytes!("../assets/dashboard.css"),
        content_type: CSS,
    },
    Embedded {
        name: "records.css",
        bytes: include_bytes!("../assets/records.css"),
        content_type: CSS,
    },
    Embedded {
        name: "copy.js",
        bytes: include_bytes!("../assets/copy.js"),
        content_type: JS,
    },
    Embedded {
        name: "uPlot.iife.min.js",
        bytes: include_bytes!("../assets/vendor/uPlot.iife.min.js"),
        content_type: JS,
    },
    Embedded {
        name: "dashboard.js",
        bytes: include_bytes!("../assets/dashboard.js"),
        content_type: JS,
    },
    Embedded {
        name: "icon.svg",
        bytes: include_bytes!("../assets/icon.svg"),
        content_type: "image/svg+xml",
    },
];

struct Served {
    /// `dashboard.1a2b3c4d5e6f.css`
    file: String,
    asset: &'static Embedded,
}

static SERVED: LazyLock<Vec<Served>> = LazyLock::new(|| {
    EMBEDDED
        .iter()
        .map(|asset| {
            let digest = hex::encode(Sha256::digest(asset.bytes));
            let (stem, extension) = asset.name.rsplit_once('.').unwrap_or((asset.name, ""));
            Served {
                file: format!("{stem}.{}.{extension}", &digest[..12]),
                asset,
            }
        })
        .collect()
});

/// The address of embedded asset `name` (a name from the table above; an
/// unknown one is a bug, caught by the test below).
pub fn url(name: &str) -> String {
    match SERVED.iter().find(|served| served.asset.name == name) {
        Some(served) => format!("/dashboard/assets/{}", served.file),
        None => format!("/dashboard/assets/{name}"),
    }
}

/// `GET /dashboard/assets/{file}`.
pub async fn serve(file: web::Path<String>) -> HttpResponse {
    match SERVED.iter().find(|served| served.file == *file) {
        Some(served) => HttpResponse::Ok()
            .insert_header((header::CONTENT_TYPE, served.asset.content_type))
            .insert_header((header::CACHE_CONTROL, "public, max-age=31536000, immutable"))
            .body(served.asset.bytes),
        None => HttpResponse::NotFound()
            .insert_header((header::CACHE_CONTROL, "no-store"))
            .insert_header((header::CONTENT_TYPE, "text/plain; charset=utf-8"))
            .body("no such asset"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_asset_has_a_content_hashed_name() {
        for asset in EMBEDDED {
            let address = url(asset.name);
            let file = address.trim_start_matches("/dashboard/assets/");
            assert_ne!(file, asset.name, "{} is hashed", asset.name);
            let hash = file.split('.').nth_back(1).unwrap_or_default();
            assert_eq!(hash.len(), 12, "{file}");
            assert!(!asset.bytes.is_empty());
        }
    }
}
