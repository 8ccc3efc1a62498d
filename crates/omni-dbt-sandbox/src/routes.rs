//! The routes: the four dbt-environment endpoints, the state endpoint, and their request parsing.

use std::sync::Arc;

use axum::body::Bytes;
use axum::extract::rejection::{BytesRejection, PathRejection, QueryRejection};
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::IntoResponse;
use axum::routing::{get, put};
use axum::{middleware, Json, Router};
use uuid::Uuid;

use crate::app::App;
use crate::body::{parse_create, parse_path_uuid, parse_update};
use crate::cursor;
use crate::gate::gate;
use crate::model::{DeleteResponse, EnvironmentPage, EnvironmentView};
use crate::problem::ApiError;
use crate::stats::Snapshot;
use crate::store::{ListQuery, SortDirection};

/// The path of the environment collection.
pub(crate) const ENVIRONMENTS: &str = "/api/v1/connections/{connection_id}/dbt/environments";
/// The path of one environment.
pub(crate) const ENVIRONMENT: &str =
    "/api/v1/connections/{connection_id}/dbt/environments/{environment_id}";
/// The state endpoint, outside `/api`.
pub(crate) const STATE: &str = "/_sandbox/state";

/// The sandbox's router over its state.
pub(crate) fn router(app: Arc<App>) -> Router {
    Router::new()
        .route(ENVIRONMENTS, get(list).post(create))
        .route(ENVIRONMENT, put(update).delete(delete))
        .route_layer(middleware::from_fn_with_state(app.clone(), gate))
        .route(STATE, get(state))
        .fallback(not_found)
        .with_state(app)
}

type OneId = Result<Path<String>, PathRejection>;
type TwoIds = Result<Path<(String, String)>, PathRejection>;

fn connection_id(path: OneId) -> Result<Uuid, ApiError> {
    let Path(raw) = path.map_err(|e| ApiError::bad_request(e.body_text()))?;
    parse_path_uuid(&raw, "connectionId")
}

fn both_ids(path: TwoIds) -> Result<(Uuid, Uuid), ApiError> {
    let Path((connection, environment)) = path.map_err(|e| ApiError::bad_request(e.body_text()))?;
    Ok((
        parse_path_uuid(&connection, "connectionId")?,
        parse_path_uuid(&environment, "environmentId")?,
    ))
}

fn body_bytes(body: Result<Bytes, BytesRejection>) -> Result<Bytes, ApiError> {
    body.map_err(|e| ApiError::new(e.status(), e.body_text()))
}

async fn list(
    State(app): State<Arc<App>>,
    path: OneId,
    query: Result<Query<Vec<(String, String)>>, QueryRejection>,
) -> Result<Json<EnvironmentPage>, ApiError> {
    let connection = connection_id(path)?;
    let Query(pairs) = query.map_err(|e| ApiError::bad_request(e.body_text()))?;
    let query = list_query(&pairs, app.default_page_size)?;
    let page = app.store().list(connection, &query)?;
    Ok(Json(page))
}

/// Reads `pageSize`, `sortDirection`, `sortField` and `cursor` (the last of repeated ones wins;
/// other parameters are ignored).
fn list_query(pairs: &[(String, String)], default_page_size: u32) -> Result<ListQuery, ApiError> {
    let mut query = ListQuery {
        page_size: default_page_size,
        direction: SortDirection::Descending,
        after: None,
        past_end: false,
    };
    for (key, value) in pairs {
        match key.as_str() {
            "pageSize" => query.page_size = page_size(value)?,
            "sortDirection" => {
                query.direction = match value.to_ascii_lowercase().as_str() {
                    "asc" => SortDirection::Ascending,
                    "desc" => SortDirection::Descending,
                    _ => return Err(ApiError::field("sortDirection", "must be asc or desc")),
                }
            }
            "sortField" if value != "name" => {
                return Err(ApiError::field("sortField", "must be name"));
            }
            "cursor" if cursor::is_endless(value) => query.past_end = true,
            "cursor" => {
                query.after =
                    Some(cursor::decode(value).ok_or_else(|| {
                        ApiError::field("cursor", "not a cursor from nextCursor")
                    })?);
            }
            _ => {}
        }
    }
    Ok(query)
}

fn page_size(value: &str) -> Result<u32, ApiError> {
    let number: f64 = value.trim().parse().unwrap_or(f64::NAN);
    if number.fract() == 0.0 && (1.0..=100.0).contains(&number) {
        Ok(number as u32)
    } else {
        Err(ApiError::field(
            "pageSize",
            "must be a whole number from 1 to 100",
        ))
    }
}

async fn create(
    State(app): State<Arc<App>>,
    path: OneId,
    headers: HeaderMap,
    body: Result<Bytes, BytesRejection>,
) -> Result<(StatusCode, Json<EnvironmentView>), ApiError> {
    let connection = connection_id(path)?;
    let request = parse_create(&headers, &body_bytes(body)?)?;
    let created = app.store().create(connection, request)?;
    Ok((StatusCode::CREATED, Json(created)))
}

async fn update(
    State(app): State<Arc<App>>,
    path: TwoIds,
    headers: HeaderMap,
    body: Result<Bytes, BytesRejection>,
) -> Result<Json<EnvironmentView>, ApiError> {
    let (connection, environment) = both_ids(path)?;
    let request = parse_update(&headers, &body_bytes(body)?)?;
    let updated = app.store().update(connection, environment, request)?;
    Ok(Json(updated))
}

async fn delete(
    State(app): State<Arc<App>>,
    path: TwoIds,
) -> Result<Json<DeleteResponse>, ApiError> {
    let (connection, environment) = both_ids(path)?;
    app.store().delete(connection, environment)?;
    Ok(Json(DeleteResponse {
        message: "dbt environment deleted successfully".to_owned(),
        success: true,
    }))
}

async fn state(State(app): State<Arc<App>>) -> Json<Snapshot> {
    Json(app.snapshot())
}

async fn not_found() -> impl IntoResponse {
    ApiError::not_found("Not found")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pairs(items: &[(&str, &str)]) -> Vec<(String, String)> {
        items
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    #[test]
    fn list_defaults_follow_the_spec() {
        let query = list_query(&[], 20).unwrap();
        assert_eq!(query.page_size, 20);
        assert_eq!(query.direction, SortDirection::Descending);
        assert_eq!(query.after, None);
    }

    #[test]
    fn page_size_must_be_whole_and_within_1_to_100() {
        for ok in ["1", "100", "25", "20.0"] {
            assert!(list_query(&pairs(&[("pageSize", ok)]), 20).is_ok(), "{ok}");
        }
        for bad in ["0", "101", "2.5", "-1", "many", ""] {
            let err = list_query(&pairs(&[("pageSize", bad)]), 20).unwrap_err();
            assert!(err.detail().starts_with("pageSize:"), "{bad}");
        }
    }

    #[test]
    fn sort_and_cursor_parameters_are_checked() {
        assert_eq!(
            list_query(
                &pairs(&[("sortDirection", "asc"), ("sortField", "name")]),
                20
            )
            .unwrap()
            .direction,
            SortDirection::Ascending
        );
        assert!(list_query(&pairs(&[("sortDirection", "up")]), 20).is_err());
        assert!(list_query(&pairs(&[("sortField", "id")]), 20).is_err());
        assert!(list_query(&pairs(&[("cursor", "eyJpZCI6IjEyMzQ1In0")]), 20).is_err());
    }
}
