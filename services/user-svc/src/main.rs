//! `user-svc`: the tutorial's second example service. The shared app from
//! `demo-web` under `/user-svc`, plus `GET /user-svc/users`.

#![forbid(unsafe_code)]

use axum::{Json, Router, routing::get};
use serde_json::{Value, json};

fn main() -> std::process::ExitCode {
    let routes = Router::new().route("/user-svc/users", get(users));
    demo_web::main(demo_web::Service::new("user-svc").routes(routes))
}

async fn users() -> Json<Value> {
    Json(json!([
        { "id": 1, "name": "Ada Lovelace", "email": "ada@example.com" },
        { "id": 2, "name": "Grace Hopper", "email": "grace@example.com" },
        { "id": 3, "name": "Alan Turing", "email": "alan@example.com" },
    ]))
}
