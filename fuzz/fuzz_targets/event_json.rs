//! `POST /v1/events`: the body parser (depth guard, JSON, the field-naming
//! error mapping), the recipients' validation, and the problem answer an
//! error becomes.
#![no_main]

use axum::response::IntoResponse;
use foghorn::api::json;
use foghorn::api::problem::ApiError;
use foghorn::engine::intake::{self, EventRequest};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    match json::parse::<EventRequest>(data) {
        Ok(req) => {
            // Anything the parser takes is JSON.
            assert!(serde_json::from_slice::<serde_json::Value>(data).is_ok());
            if let Err(e) = intake::recipients(req.to) {
                let e = ApiError::from(e);
                assert_eq!(e.status.as_u16(), 422, "{e:?}");
                let _ = e.into_response();
            }
        }
        Err(e) => {
            assert!(matches!(e.status.as_u16(), 400 | 422), "{e:?}");
            let _ = e.into_response();
        }
    }
});
