//! `product-svc`: the tutorial's first example service. The shared app from
//! `demo-web` under `/product-svc`, plus `GET /product-svc/products`.

#![forbid(unsafe_code)]

use axum::{Json, Router, routing::get};
use serde_json::{Value, json};

fn main() -> std::process::ExitCode {
    let routes = Router::new().route("/product-svc/products", get(products));
    demo_web::main(demo_web::Service::new("product-svc").routes(routes))
}

async fn products() -> Json<Value> {
    Json(json!([
        { "id": 1, "name": "Espresso cup", "price_cents": 900 },
        { "id": 2, "name": "Pour-over kettle", "price_cents": 4500 },
        { "id": 3, "name": "Burr grinder", "price_cents": 12900 },
    ]))
}
