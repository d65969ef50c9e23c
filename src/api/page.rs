//! Paging from the query string: the types live in `domain::page`, where the store uses
//! them too; this is the extractor.

pub use crate::domain::page::{Cursor, List, PageParams, cut_page};

use crate::error::ApiError;
use actix_web::dev::Payload;
use actix_web::{FromRequest, HttpRequest};
use std::future::{Ready, ready};

impl FromRequest for PageParams {
    type Error = ApiError;
    type Future = Ready<Result<Self, ApiError>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        ready(Self::parse(req.query_string()).map_err(ApiError::from))
    }
}
