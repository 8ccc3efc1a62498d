//! What a fault that lets the request through does to its successful answer: an error or a drop instead, a delay, HTML, a missing `id`, float page numbers, endless pages, a huge or endless body.

use axum::body::{to_bytes, Body, Bytes};
use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use serde_json::{Map, Value};
use uuid::Uuid;

use crate::app::App;
use crate::cursor;
use crate::faults::Fault;
use crate::model::EnvironmentView;
use crate::padding::{padded_json, Length};
use crate::problem::ApiError;
use crate::server::drop_response;
use crate::standin::error_status;

/// The most of its own answer the sandbox reads back to rewrite it: a page of 100
/// environments is far below it.
const OWN_ANSWER_LIMIT: usize = 16 * 1024 * 1024;

/// The page a browser would get from a web server in front of the API.
const HTML_PAGE: &str = "<!DOCTYPE html><html><head><title>Omni</title></head><body><div id=\"root\"></div></body></html>";

/// Applies a fault to the successful `response` of a request that was handled.
pub(crate) async fn spoil(fault: Fault, response: Response, app: &App) -> Response {
    match fault {
        Fault::CommitThenStatus(status) => error_status(status),
        Fault::CommitThenDrop => drop_response(),
        Fault::CommitThenSlow(delay) => {
            tokio::time::sleep(delay).await;
            response
        }
        Fault::CommitThenHtml => html_instead(response),
        Fault::CommitThenNoId => rewrite_json(response, without_id).await,
        Fault::FloatPageInfo => rewrite_json(response, float_page_info).await,
        Fault::EndlessPages => rewrite_json(response, |page| endless_page(page, app)).await,
        Fault::HugeBody(size) => padded(response, Length::Exactly(size)).await,
        Fault::EndlessBody => padded(response, Length::Endless).await,
        // The others answer in place of the request and never reach a handled one.
        _ => response,
    }
}

/// The answer's status with an HTML page in place of its JSON.
fn html_instead(response: Response) -> Response {
    let (mut parts, _) = response.into_parts();
    parts.headers.remove(header::CONTENT_LENGTH);
    parts.headers.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/html; charset=utf-8"),
    );
    Response::from_parts(parts, Body::from(HTML_PAGE))
}

/// The answer's JSON, padded with whitespace to `length`.
async fn padded(response: Response, length: Length) -> Response {
    let (mut parts, body) = response.into_parts();
    let Ok(json) = to_bytes(body, OWN_ANSWER_LIMIT).await else {
        return unreadable();
    };
    parts.headers.remove(header::CONTENT_LENGTH);
    Response::from_parts(parts, padded_json(json, length))
}

/// The answer's JSON, changed by `change`.
async fn rewrite_json(response: Response, change: impl FnOnce(&mut Value)) -> Response {
    let (mut parts, body) = response.into_parts();
    let Ok(bytes) = to_bytes(body, OWN_ANSWER_LIMIT).await else {
        return unreadable();
    };
    let Ok(mut value) = serde_json::from_slice::<Value>(&bytes) else {
        return unreadable();
    };
    change(&mut value);
    let Ok(bytes) = serde_json::to_vec(&value) else {
        return unreadable();
    };
    parts.headers.remove(header::CONTENT_LENGTH);
    Response::from_parts(parts, Body::from(Bytes::from(bytes)))
}

fn unreadable() -> Response {
    ApiError::new(
        StatusCode::INTERNAL_SERVER_ERROR,
        "sandbox: a fault could not read the answer it was to change",
    )
    .into_response()
}

fn without_id(environment: &mut Value) {
    if let Some(object) = environment.as_object_mut() {
        object.remove("id");
    }
}

fn page_info(page: &mut Value) -> Option<&mut Map<String, Value>> {
    page.get_mut("pageInfo")?.as_object_mut()
}

/// `pageSize` and `totalRecords` as floats: serde_json writes `20.0`.
fn float_page_info(page: &mut Value) {
    if let Some(info) = page_info(page) {
        for key in ["pageSize", "totalRecords"] {
            if let Some(number) = info.get(key).and_then(Value::as_f64) {
                info.insert(key.to_owned(), Value::from(number));
            }
        }
    }
}

/// The page filled up to its page size with made-up environments, with a fresh cursor and
/// `hasNextPage: true`; `totalRecords` is left at the real count.
fn endless_page(page: &mut Value, app: &App) {
    let sequence = app.next_endless_page();
    let page_size = page_info(page)
        .and_then(|info| info.get("pageSize"))
        .and_then(Value::as_u64)
        .unwrap_or(20);
    if let Some(records) = page.get_mut("records").and_then(Value::as_array_mut) {
        let mut index = 0;
        while (records.len() as u64) < page_size {
            records.push(made_up_environment(sequence, index));
            index += 1;
        }
    }
    if let Some(info) = page_info(page) {
        info.insert("hasNextPage".to_owned(), Value::Bool(true));
        info.insert(
            "nextCursor".to_owned(),
            Value::String(cursor::encode_endless(sequence)),
        );
    }
}

fn made_up_environment(sequence: u64, index: u32) -> Value {
    let view = EnvironmentView {
        id: Uuid::new_v4(),
        name: format!("endless-{sequence}-{index}"),
        is_default_environment: false,
        owner_id: None,
        target_database: None,
        target_name: None,
        target_role: None,
        target_schema: "endless".to_owned(),
        variables: Vec::new(),
    };
    serde_json::to_value(view).unwrap_or(Value::Null)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn page_numbers_become_floats() {
        let mut page = json!({"pageInfo": {"hasNextPage": false, "nextCursor": null, "pageSize": 20, "totalRecords": 3}, "records": []});
        float_page_info(&mut page);
        let text = page.to_string();
        assert!(text.contains("\"pageSize\":20.0"), "{text}");
        assert!(text.contains("\"totalRecords\":3.0"), "{text}");
    }

    #[test]
    fn the_id_goes_and_nothing_else() {
        let mut environment = json!({"id": "x", "name": "dev"});
        without_id(&mut environment);
        assert_eq!(environment, json!({"name": "dev"}));
    }
}
