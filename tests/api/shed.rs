//! Load shedding: with every processing slot taken and the waiting line full, a request is
//! refused at once with 503 and `Retry-After`, while `/healthz` still answers; once the load
//! goes, requests are served again.

use std::time::Duration;

use serde_json::json;
use tokio::io::AsyncWriteExt;
use tokio::net::TcpStream;

use crate::helpers::spawn_app_with;

/// A request whose body never completes: it holds its slot (or its place in line) for as long
/// as the connection stays open.
async fn stalled_request(address: &str) -> TcpStream {
    let mut stream = TcpStream::connect(address).await.unwrap();
    stream
        .write_all(
            b"POST /v1/math/verify HTTP/1.1\r\nhost: verdict\r\ncontent-type: application/json\r\ncontent-length: 1000\r\n\r\n{",
        )
        .await
        .unwrap();
    // Let the server route it and take (or wait for) a slot before the next one arrives.
    tokio::time::sleep(Duration::from_millis(200)).await;
    stream
}

#[tokio::test]
async fn a_full_line_sheds_with_503_and_retry_after_while_healthz_answers() {
    let app = spawn_app_with(|config| {
        config.limits.max_concurrent_requests = 1;
        config.limits.max_queued_requests = 1;
    })
    .await;
    let address = app.base.trim_start_matches("http://").to_owned();
    let in_slot = stalled_request(&address).await;
    let in_line = stalled_request(&address).await;

    let verify = json!({ "gold": "1", "prediction": "1" });
    let shed = app
        .client
        .post(format!("{}/v1/math/verify", app.base))
        .json(&verify)
        .timeout(Duration::from_secs(5))
        .send()
        .await
        .expect("answered at once, not queued");
    assert_eq!(shed.status(), 503);
    assert_eq!(shed.headers()["retry-after"], "1");
    let body: serde_json::Value = shed.json().await.unwrap();
    assert_eq!(body["error"]["code"], "overloaded");

    for route in ["/healthz", "/readyz", "/metrics"] {
        let (status, _) = app.get_text(route).await;
        assert_eq!(status, 200, "{route} skips the line");
    }

    drop(in_slot);
    drop(in_line);
    let mut served = false;
    for _ in 0..50 {
        let reply = app.post_json("/v1/math/verify", &verify).await;
        if reply.status == 200 {
            served = true;
            break;
        }
        assert_eq!(reply.status, 503);
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert!(served, "the slot is released when the stalled clients go");
}
